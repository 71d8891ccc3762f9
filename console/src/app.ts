// The console page: polls GET /api/overview and redraws; the actions POST /api/<action> with the
// admin token the operator typed (kept in this tab's sessionStorage only).
import type { ClusterOverview } from "../../src/master/overview.js";
import type { InstanceStatus } from "../../src/bus/discovery.js";
import type { SupervisedStatus } from "../../src/master/status.js";

const POLL_MS = 2_000;
const TOKEN_KEY = "switchyard.adminToken";

function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`console page: no element #${id}`);
  return el;
}

function fixed(n: number | null | undefined, digits: number): string {
  return n === null || n === undefined ? "-" : n.toFixed(digits);
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min` : s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

/** Replaces a table's rows; every cell is text (nothing from the cluster is parsed as HTML). */
function fillTable(id: string, rows: readonly { cells: readonly string[]; numeric?: readonly number[]; data?: Record<string, string>; className?: string }[]): void {
  const body = $(id).querySelector("tbody")!;
  body.replaceChildren(
    ...rows.map((r) => {
      const tr = document.createElement("tr");
      if (r.className) tr.className = r.className;
      for (const [k, v] of Object.entries(r.data ?? {})) tr.dataset[k] = v;
      r.cells.forEach((c, i) => {
        const td = document.createElement("td");
        td.textContent = c;
        if (r.numeric?.includes(i)) td.className = "num";
        tr.append(td);
      });
      return tr;
    }),
  );
}

function stateOf(i: InstanceStatus, slot: SupervisedStatus | undefined): string {
  return slot?.crashLooping ? "crash-loop" : i.state;
}

function render(o: ClusterOverview): void {
  const m = o.master;
  $("master").textContent = `master pid ${m.pid} on ${m.host}, up ${ago(m.uptimeMs)}, NATS ${m.natsUrl}`;
  $("updated").textContent = `updated ${new Date().toLocaleTimeString()}${o.live ? `, rates over ${o.live.windowSeconds.toFixed(1)} s` : ", metrics off (telemetry.metrics)"}`;
  const slots = new Map(m.processes.map((p) => [p.instance, p]));
  const live = new Map((o.live?.instances ?? []).map((l) => [l.instance, l]));
  fillTable(
    "instances",
    o.instances.map((i) => {
      const slot = slots.get(i.instance);
      const l = live.get(i.instance);
      const state = stateOf(i, slot);
      return {
        data: { instance: i.instance, module: i.module },
        className: `state-${state}`,
        numeric: [5, 6, 7, 8, 9, 10, 11],
        cells: [i.module, i.instance, i.version, i.host, state, fixed(l?.rps, 1), String(i.served), String(i.errors), String(i.inflight), i.sessions === undefined ? "-" : String(i.sessions), l?.rssBytes ? (l.rssBytes / 1048576).toFixed(0) : "-", slot ? String(slot.restarts) : "-"],
      };
    }),
  );
  fillTable(
    "routes",
    (o.live?.routes ?? []).map((r) => ({ data: { route: r.route }, numeric: [1, 2, 3, 4], cells: [r.route, fixed(r.rps, 1), fixed(r.errorsPerSecond, 1), fixed(r.p99GatewayMs, 2), fixed(r.p99HandlerMs, 2)] })),
  );
  fillTable(
    "gateways",
    (o.live?.gateways ?? []).map((g) => ({ data: { gateway: g.instance }, numeric: [1, 2], cells: [g.instance, String(g.connections), String(g.boundSessions)] })),
  );
  const ops = $("operations");
  ops.replaceChildren(
    ...(o.operations.length === 0
      ? [Object.assign(document.createElement("li"), { textContent: "nothing", className: "muted" })]
      : o.operations.map((op) => Object.assign(document.createElement("li"), { textContent: `${op.verb} ${op.module}, for ${ago(Date.now() - op.startedAt)}` }))),
  );
  fillTable(
    "restarts",
    m.processes
      .filter((p) => p.restarts > 0 || p.recentCrashes > 0 || p.crashLooping)
      .map((p) => ({
        numeric: [1, 2],
        cells: [p.key, String(p.restarts), String(p.recentCrashes), p.lastExit ? `${p.lastExit.signal ?? `code ${p.lastExit.code}`}, ${ago(Date.now() - p.lastExit.at)} ago` : "-", p.crashLooping ? "crash-loop" : p.state],
      })),
  );
  $("actions-off").hidden = o.actions;
  for (const f of ["token-form", "scale-form", "rollout-form", "kick-form"]) $(f).hidden = !o.actions;
  const modules = [...new Set(m.processes.filter((p) => p.kind === "module").map((p) => p.module))].sort();
  for (const id of ["scale-module", "rollout-module"]) fillSelect($(id) as HTMLSelectElement, modules);
}

/** Keeps the operator's choice while the options are refreshed. */
function fillSelect(select: HTMLSelectElement, values: readonly string[]): void {
  const current = select.value;
  if ([...select.options].map((o) => o.value).join() === values.join()) return;
  select.replaceChildren(...values.map((v) => Object.assign(document.createElement("option"), { value: v, textContent: v })));
  if (values.includes(current)) select.value = current;
}

async function poll(): Promise<void> {
  try {
    const res = await fetch("api/overview", { cache: "no-store" });
    if (!res.ok) throw new Error(`${res.status} ${((await res.json()) as { message?: string }).message ?? res.statusText}`);
    render((await res.json()) as ClusterOverview);
  } catch (err) {
    $("updated").textContent = `cannot reach the master: ${(err as Error).message}; retrying`;
  } finally {
    setTimeout(() => void poll(), POLL_MS);
  }
}

function result(text: string, ok: boolean): void {
  const el = $("action-result");
  el.textContent = text;
  el.className = ok ? "ok" : "error";
}

async function act(action: string, body: object): Promise<void> {
  result(`${action}…`, true);
  const token = ($("token") as HTMLInputElement).value;
  sessionStorage.setItem(TOKEN_KEY, token);
  const res = await fetch(`api/${action}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  const answer = (await res.json()) as { code?: string; message?: string };
  if (!res.ok) {
    result(`${action} refused: ${answer.code ?? res.status}: ${answer.message ?? ""}`, false);
    return;
  }
  result(`${action} done: ${JSON.stringify(answer)}`, true);
}

function onSubmit(id: string, run: () => Promise<void>): void {
  $(id).addEventListener("submit", (e) => {
    e.preventDefault();
    run().catch((err: unknown) => result(`failed: ${(err as Error).message}`, false));
  });
}

($("token") as HTMLInputElement).value = sessionStorage.getItem(TOKEN_KEY) ?? "";
onSubmit("token-form", async () => undefined);
onSubmit("scale-form", () => act("scale", { module: ($("scale-module") as HTMLSelectElement).value, instances: Number(($("scale-instances") as HTMLInputElement).value) }));
onSubmit("rollout-form", () => act("rollout", { module: ($("rollout-module") as HTMLSelectElement).value }));
onSubmit("kick-form", () => act("kick", { uid: ($("kick-uid") as HTMLInputElement).value, reason: ($("kick-reason") as HTMLInputElement).value }));
void poll();
