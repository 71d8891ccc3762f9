import { resolve } from "node:path";
import type { NatsConnection } from "nats";
import type { NatsSettings } from "../bus/connection.js";
import { listInstances } from "../bus/discovery.js";
import { ErrorCode } from "../protocol/errors.js";
import { DEFAULT_TIMEOUT_MS, ReplyMux } from "../bus/reply-mux.js";
import { parseRoute, trustedServiceSubject } from "../bus/subjects.js";
import { trustedCallHeaders } from "../module/runtime.js";
import { defaultConfigPath, loadClusterConfig } from "../config/cluster-config.js";
import { connectOnce, requestMaster } from "../ctl/ctl-client.js";
import { DEFAULT_KICK_REASON, kickUser } from "../ctl/kick-user.js";
import type { AddResult, InstanceRef, RemoveResult, RolloutResult } from "../master/operations.js";
import type { ScaleResult } from "../master/scale.js";
import type { GatewayRolloutResult } from "../master/gateway-rollout.js";
import type { MasterStatus } from "../master/status.js";
import { loadProto } from "../proto/registry.js";
import { useCredentials } from "../servers/credentials.js";
import { NatsRole } from "../servers/nats-permissions.js";
import { optFlag, optInt, optString, parseArgs, type ParsedArgs } from "./args.js";
import { errorLine, messageFromJsonText, messageToJsonText, routeCodec } from "./client-text.js";
import { formatUptime, mergeStatus, renderStatusTable } from "./status-view.js";
import { renderTop } from "./top-view.js";
import type { ClusterOverview } from "../master/overview.js";
import { UsageError } from "./usage-error.js";

/** Usage of `switchyard ctl`. */
export const CTL_USAGE = [
  "switchyard ctl status [--json]     list every instance (with the master's supervision when one runs)",
  "switchyard ctl top [--once] [--interval MS]  live rps and p99 per route, load per instance, sessions per",
  "                                   gateway (refreshes every MS, default 2000; --once prints one screen)",
  "switchyard ctl stop                stop the whole cluster gracefully (asks the master)",
  "switchyard ctl scale MODULE N [--host ID]  run N instances of MODULE (new ones on the agent of host ID)",
  "switchyard ctl add MODULE [--instances N] [--from FILE] [--proto FILE] [--host ID]",
  "                                   start a module type the cluster does not run yet (code written after launch)",
  "switchyard ctl remove MODULE       drain every instance of MODULE (in-flight requests finish), then stop them",
  "switchyard ctl rollout MODULE [--from FILE] [--proto FILE]",
  "                                   replace each instance: start the new one, wait until it answers, drain the old one",
  "switchyard ctl rollout gateway [ID]  replace each gateway (or ID), one after another: the new one takes the same",
  "                                   ports, then the old one drains; its clients move (KICK MOVED) and resume there",
  "switchyard ctl kick UID [--reason R]  close every session of UID (on whichever gateway holds it) with reason R",
  "switchyard ctl call ROUTE ['JSON'] [--timeout MS]  call a module route from inside the cluster (operator",
  "                                   rights: admin routes such as login.Ban, login.SetMaintenance, rank.ResetSeason)",
  "  common options: --nats URL (default: from the config)  --config PATH",
].join("\n");

/**
 * `switchyard ctl <verb>`: talks to a running cluster over NATS. Works without a master for
 * `status` (instances answer discovery themselves).
 */
export async function runCtlCommand(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  const verb = args.positional[0];
  switch (verb) {
    case "status":
      return withBus(args, (nc) => ctlStatus(nc, optFlag(args, "json")));
    case "stop":
      return withBus(args, (nc) => ctlStop(nc));
    case "top": {
      const interval = optInt(args, "interval", DEFAULT_TOP_INTERVAL_MS)!;
      if (interval < 500) throw new UsageError(`ctl top --interval must be at least 500 ms\nusage:\n${CTL_USAGE}`);
      return withBus(args, (nc) => ctlTop(nc, optFlag(args, "once"), interval));
    }
    case "scale": {
      const [, module, count] = args.positional;
      const instances = Number(count);
      if (module === undefined || count === undefined || !Number.isInteger(instances) || instances < 0) {
        throw new UsageError(`ctl scale needs a module and a whole number\nusage:\n${CTL_USAGE}`);
      }
      const host = optString(args, "host");
      return withBus(args, (nc) => ctlScale(nc, module, instances, host));
    }
    case "add": {
      const module = args.positional[1];
      if (module === undefined) throw new UsageError(`ctl add needs a module name\nusage:\n${CTL_USAGE}`);
      const body = { module, instances: optInt(args, "instances", 1), ...sourceOptions(args), ...(optString(args, "host") ? { host: optString(args, "host") } : {}) };
      return withBus(args, (nc) => ctlAdd(nc, body));
    }
    case "remove": {
      const module = args.positional[1];
      if (module === undefined) throw new UsageError(`ctl remove needs a module name\nusage:\n${CTL_USAGE}`);
      return withBus(args, (nc) => ctlRemove(nc, module));
    }
    case "rollout": {
      const module = args.positional[1];
      if (module === undefined) throw new UsageError(`ctl rollout needs a module name\nusage:\n${CTL_USAGE}`);
      if (module === "gateway") {
        const id = args.positional[2];
        return withBus(args, (nc) => ctlRolloutGateway(nc, id));
      }
      return withBus(args, (nc) => ctlRollout(nc, { module, ...sourceOptions(args) }));
    }
    case "kick": {
      const uid = args.positional[1];
      if (uid === undefined || uid === "") throw new UsageError(`ctl kick needs a uid\nusage:\n${CTL_USAGE}`);
      return withBus(args, (nc) => ctlKick(nc, uid, optString(args, "reason") ?? DEFAULT_KICK_REASON));
    }
    case "call": {
      const [, route, json = "{}"] = args.positional;
      if (route === undefined) throw new UsageError(`ctl call needs a route, e.g. ctl call login.Ban '{"uid":"u3"}'\nusage:\n${CTL_USAGE}`);
      return withBus(args, (nc) => ctlCall(nc, route, json, optInt(args, "timeout", DEFAULT_TIMEOUT_MS)!));
    }
    case undefined:
      throw new UsageError(`ctl needs a verb\nusage:\n${CTL_USAGE}`);
    default:
      throw new UsageError(`unknown ctl verb "${verb}"\nusage:\n${CTL_USAGE}`);
  }
}

/**
 * NATS settings of ctl: the config's (or --nats URL), with the ctl role's credentials when the
 * config's runtimeDir holds those of an embedded cluster at that port.
 */
function natsSettings(args: ParsedArgs): NatsSettings {
  const url = optString(args, "nats");
  const configPath = optString(args, "config");
  let cfg;
  try {
    cfg = loadClusterConfig(configPath ?? defaultConfigPath());
  } catch (err) {
    // --nats alone needs no config: a cluster elsewhere, with no credentials here.
    if (url !== undefined && configPath === undefined) return { url };
    throw err;
  }
  if (url !== undefined) cfg.nats.url = url;
  useCredentials(cfg, NatsRole.ctl);
  return cfg.nats;
}

async function withBus(args: ParsedArgs, run: (nc: NatsConnection) => Promise<void>): Promise<void> {
  const nc = await connectOnce(natsSettings(args), "switchyard-ctl");
  try {
    await run(nc);
  } finally {
    await nc.close();
  }
}

async function ctlStatus(nc: NatsConnection, json: boolean): Promise<void> {
  const [instances, master] = await Promise.all([listInstances(nc), requestMaster<MasterStatus>(nc, "status")]);
  const rows = mergeStatus(instances, master);
  if (json) {
    process.stdout.write(JSON.stringify({ master, instances: rows }, null, 2) + "\n");
    return;
  }
  const lines: string[] = [];
  if (master) {
    lines.push(`master pid ${master.pid} on ${master.host}, up ${formatUptime(master.uptimeMs)}, config ${master.configPath}`);
  } else {
    lines.push("no master answers: showing the instances that answer discovery");
  }
  lines.push(rows.length > 0 ? renderStatusTable(rows) : "no instance answers");
  process.stdout.write(lines.join("\n") + "\n");
}


const DEFAULT_TOP_INTERVAL_MS = 2_000;

/** `ctl top`: asks the master for the overview and redraws it until Ctrl-C (or once). */
async function ctlTop(nc: NatsConnection, once: boolean, intervalMs: number): Promise<void> {
  let stopped = false;
  const onSignal = (): void => {
    stopped = true;
  };
  process.once("SIGINT", onSignal);
  try {
    for (;;) {
      const began = Date.now();
      const o = await requestMaster<ClusterOverview>(nc, "top", undefined, 10_000);
      if (!o) throw new Error("no master answers: ctl top needs a running master (`npm start`)");
      const screen = renderTop(o);
      if (once) {
        process.stdout.write(screen);
        return;
      }
      process.stdout.write("\x1b[2J\x1b[H" + screen);
      await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (Date.now() - began))));
      if (stopped) return;
    }
  } finally {
    process.off("SIGINT", onSignal);
  }
}

/** --from/--proto as absolute paths (the master may run in another folder). */
function sourceOptions(args: ParsedArgs): { from?: string; proto?: string } {
  const from = optString(args, "from");
  const proto = optString(args, "proto");
  return { ...(from !== undefined ? { from: resolve(from) } : {}), ...(proto !== undefined ? { proto: resolve(proto) } : {}) };
}

/** How long ctl waits for verbs that drain instances: a stateful drain may take its whole drainTimeoutMs. */
const LONG_VERB_TIMEOUT_MS = 15 * 60_000;

const NO_MASTER = "no master answers: this needs a running master (`npm start`)";

function ref(r: InstanceRef): string {
  return `${r.instance} (${r.key}, v${r.version}, host ${r.host})`;
}

async function ctlAdd(nc: NatsConnection, body: object): Promise<void> {
  const res = await requestMaster<AddResult>(nc, "add", body, LONG_VERB_TIMEOUT_MS);
  if (!res) throw new Error(NO_MASTER);
  process.stdout.write(`added ${res.module}: ${res.started.length} instance${res.started.length === 1 ? "" : "s"} answering\n${res.started.map((r) => `  + ${ref(r)}\n`).join("")}`);
}

async function ctlRemove(nc: NatsConnection, module: string): Promise<void> {
  const res = await requestMaster<RemoveResult>(nc, "remove", { module }, LONG_VERB_TIMEOUT_MS);
  if (!res) throw new Error(NO_MASTER);
  process.stdout.write(`removed ${res.module}: ${res.stopped.length} instance${res.stopped.length === 1 ? "" : "s"} drained and stopped\n${res.stopped.map((r) => `  - ${ref(r)}\n`).join("")}`);
}

async function ctlRollout(nc: NatsConnection, body: { module: string; from?: string; proto?: string }): Promise<void> {
  const res = await requestMaster<RolloutResult>(nc, "rollout", body, LONG_VERB_TIMEOUT_MS);
  if (!res) throw new Error(NO_MASTER);
  const lines = res.replaced.map((r) => `  ${r.old.instance} v${r.old.version} -> ${r.new.instance} v${r.new.version} (${r.new.key}, host ${r.new.host}); old one drained\n`);
  process.stdout.write(`rolled out ${res.module}: ${res.replaced.length} instance${res.replaced.length === 1 ? "" : "s"} replaced in ${(res.durationMs / 1000).toFixed(1)} s\n${lines.join("")}`);
}

async function ctlRolloutGateway(nc: NatsConnection, gateway: string | undefined): Promise<void> {
  const res = await requestMaster<GatewayRolloutResult>(nc, "rollout-gateway", gateway === undefined ? {} : { gateway }, LONG_VERB_TIMEOUT_MS);
  if (!res) throw new Error(NO_MASTER);
  const lines = res.replaced.map((r) => `  ${r.old} -> ${r.new} on ${r.address}: ${r.sessions} session${r.sessions === 1 ? "" : "s"} moved, ${(r.tookMs / 1000).toFixed(1)} s (new one ready ${(r.readyMs / 1000).toFixed(1)} s, old one drained ${(r.drainMs / 1000).toFixed(1)} s)\n`);
  process.stdout.write(`rolled out gateways: ${res.replaced.length} replaced in ${(res.durationMs / 1000).toFixed(1)} s\n${lines.join("")}`);
}

async function ctlScale(nc: NatsConnection, module: string, instances: number, host: string | undefined): Promise<void> {
  // The master answers once new instances are ready (up to its readyTimeoutMs) or old ones drained.
  const res = await requestMaster<ScaleResult>(nc, "scale", { module, instances, ...(host !== undefined ? { host } : {}) }, LONG_VERB_TIMEOUT_MS);
  if (!res) throw new Error("no master answers: scaling needs a running master (`npm start`)");
  const changed = [...res.started.map((k) => `+${k}`), ...res.stopped.map((k) => `-${k}`)];
  process.stdout.write(`${res.module}: ${res.from} -> ${res.to} instances${changed.length ? ` (${changed.join(" ")})` : ""}\n`);
}

/** `ctl kick`: see kickUser. */
async function ctlKick(nc: NatsConnection, uid: string, reason: string): Promise<void> {
  const res = await kickUser(nc, uid, reason);
  process.stdout.write(`kicked uid ${uid} on ${res.kickedOn.join(", ")}: ${reason}\n`);
}

/**
 * Calls a route over NATS as an operator: a trusted call (`mod.svc.*`, caller "ctl/<pid>", no
 * client session), which admin and modules-only routes accept. Prints the reply as JSON, or `CODE: message` and exit code 1.
 */
async function ctlCall(nc: NatsConnection, route: string, json: string, timeoutMs: number): Promise<void> {
  const mux = new ReplyMux(nc, `ctl-${process.pid}`);
  try {
    const codec = routeCodec(loadProto(), route);
    const { module, method } = parseRoute(route)!;
    const req = messageFromJsonText(codec.request, json);
    const reply = await mux.request(trustedServiceSubject(module, method), codec.request.encode(req), trustedCallHeaders(`ctl/${process.pid}`, null, null), timeoutMs);
    process.stdout.write(messageToJsonText(codec.response, codec.response.decode(reply.data)) + "\n");
  } catch (err) {
    process.stderr.write(errorLine(err) + "\n");
    process.exitCode = 1;
  } finally {
    mux.close();
  }
}

async function ctlStop(nc: NatsConnection): Promise<void> {
  const res = await requestMaster<{ pid: number; stopping: number }>(nc, "stop");
  if (!res) throw new Error("no master answers: nothing to stop (instances started by hand are stopped with their own Ctrl-C)");
  process.stdout.write(`master ${res.pid} is stopping ${res.stopping} processes\n`);
  // Wait until the master is gone, so scripts can go on once the cluster is down.
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    const still = await requestMaster<MasterStatus>(nc, "status", undefined, 1_000).catch(() => null);
    if (!still) {
      process.stdout.write("cluster stopped\n");
      return;
    }
  }
  throw new Error("the master is still running 30 s after `ctl stop`: look at its log");
}
