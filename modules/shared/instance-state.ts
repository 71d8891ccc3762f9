import type { HandlerContext, ModuleRuntime } from "../../src/module/index.js";

/**
 * Per-instance state of a module, keyed by its runtime. Several instances of one module may run
 * in one process (tests, `module` command with --instances), so state lives with the instance
 * that created it in onStart, never in module-level variables that the last start overwrites.
 */
export class InstanceState<S> {
  private readonly byRuntime = new WeakMap<ModuleRuntime, S>();

  /** Attaches the instance's state (call in onStart). */
  set(rt: ModuleRuntime, state: S): void {
    this.byRuntime.set(rt, state);
  }

  /** The state of the instance serving `ctx`. */
  of(ctx: HandlerContext): S {
    return this.ofRuntime(ctx.module);
  }

  /** The state of an instance, for hooks (which get the runtime, not a context). */
  ofRuntime(rt: ModuleRuntime): S {
    const s = this.byRuntime.get(rt);
    if (s === undefined) throw new Error(`module ${rt.name} (${rt.instanceId}): used before onStart`);
    return s;
  }
}
