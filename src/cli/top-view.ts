import type { ClusterOverview } from "../master/overview.js";
import { formatUptime, mergeStatus } from "./status-view.js";

/** Aligned text table: a header line, then one line per row. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  return all.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join("  ")).join("\n");
}

function fixed(n: number | null | undefined, digits: number): string {
  return n === null || n === undefined ? "-" : n.toFixed(digits);
}

function mib(bytes: number | null | undefined): string {
  return bytes === null || bytes === undefined ? "-" : (bytes / 1024 / 1024).toFixed(0);
}

/**
 * `ctl top`: every instance with its live rate and memory, rps and p99 per route, sessions per
 * gateway, operations in progress and the slots that restarted. Same numbers as the console.
 */
export function renderTop(o: ClusterOverview, now = Date.now()): string {
  const live = o.live;
  const byInstance = new Map((live?.instances ?? []).map((i) => [i.instance, i]));
  const rows = mergeStatus(o.instances, o.master);
  const out: string[] = [];
  out.push(
    `switchyard top — master pid ${o.master.pid} on ${o.master.host}, up ${formatUptime(o.master.uptimeMs)}` +
      (live ? `, window ${live.windowSeconds.toFixed(1)} s` : ", metrics off (telemetry.metrics)"),
  );
  out.push("");
  out.push(
    table(
      ["MODULE", "INSTANCE", "VERSION", "HOST", "STATE", "RPS", "SERVED", "ERRORS", "INFLIGHT", "SESSIONS", "RSS_MB", "RESTARTS"],
      rows.map((r) => {
        const l = byInstance.get(r.instance);
        return [r.module, r.instance, r.version, r.host, r.state, fixed(l?.rps, 1), String(r.served ?? "-"), String(r.errors ?? "-"), String(r.inflight ?? "-"), String(r.sessions ?? "-"), mib(l?.rssBytes), String(r.restarts ?? "-")];
      }),
    ),
  );
  if (live && live.routes.length > 0) {
    out.push("");
    out.push(
      table(
        ["ROUTE", "RPS", "ERR/S", "P99_GATEWAY_MS", "P99_HANDLER_MS"],
        live.routes.map((r) => [r.route, fixed(r.rps, 1), fixed(r.errorsPerSecond, 1), fixed(r.p99GatewayMs, 2), fixed(r.p99HandlerMs, 2)]),
      ),
    );
  }
  if (live && live.gateways.length > 0) {
    out.push("");
    out.push(table(["GATEWAY", "CONNECTIONS", "LOGGED_IN"], live.gateways.map((g) => [g.instance, String(g.connections), String(g.boundSessions)])));
  }
  if (o.operations.length > 0) {
    out.push("");
    for (const op of o.operations) out.push(`in progress: ${op.verb} ${op.module} for ${formatUptime(now - op.startedAt)}`);
  }
  const restarted = o.master.processes.filter((p) => p.restarts > 0 || p.crashLooping);
  if (restarted.length > 0) {
    out.push("");
    out.push(
      table(
        ["SLOT", "RESTARTS", "RECENT_CRASHES", "LAST_EXIT", "STATE"],
        restarted.map((p) => [
          p.key,
          String(p.restarts),
          String(p.recentCrashes),
          p.lastExit ? `${p.lastExit.signal ?? `code ${p.lastExit.code}`} ${formatUptime(now - p.lastExit.at)} ago` : "-",
          p.crashLooping ? "crash-loop" : p.state,
        ]),
      ),
    );
  }
  return out.join("\n") + "\n";
}
