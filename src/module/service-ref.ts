/**
 * A module's service as generated from its proto package (`services.<package>` in the generated
 * file): its name at run time, its types at compile time. `defineModule(ref, spec)` reads the
 * handler set, the routes the module may call and the pushes it may send from it, so a module in
 * any project is type-checked against that project's own proto/.
 */
export interface ServiceRef<Name extends string = string, Methods = unknown, AllRoutes = unknown, AllPushes = unknown> {
  /** The proto package; routes are "<name>.<Method>". */
  readonly name: Name;
  /** Compile-time only; never set. */
  readonly __types?: { methods: Methods; routes: AllRoutes; pushes: AllPushes };
}

/** The rpc methods of a service: `{ Method: { req; res } }`. */
export type MethodsOf<S> = S extends ServiceRef<string, infer M, unknown, unknown> ? M : never;
/** Every route the generated file knows: `{ "pkg.Method": { req; res } }`. */
export type RoutesOf<S> = S extends ServiceRef<string, unknown, infer R, unknown> ? R : never;
/** Every push route the generated file knows: `{ "pkg.Push": Message }`. */
export type PushesOf<S> = S extends ServiceRef<string, unknown, unknown, infer P> ? P : never;

/** A route map entry's request type. */
export type RequestType<R, K extends keyof R> = R[K] extends { req: infer Q } ? Q : never;
/** A route map entry's reply type. */
export type ReplyType<R, K extends keyof R> = R[K] extends { res: infer S } ? S : never;
