import { randomBytes } from "node:crypto";
import { instanceControlSubject } from "../bus/discovery.js";
import { isSubjectToken } from "../bus/subjects.js";
import { SwitchyardError } from "../protocol/errors.js";
import { ProcessKind, type ProcessSlot } from "../process/process-plan.js";
import type { Operations } from "./operations.js";
import { NotReadyError } from "./supervisor.js";
import { requestPortReclaim } from "../gateway/port-handover.js";

/** How long the old gateway may take to listen again after a failed replacement (it waits while the ports are taken). */
const RECLAIM_ANSWER_MS = 10_000;

/** Request of the `rollout-gateway` ctl verb: one gateway (its id or its config entry's), or all. */
export interface GatewayRolloutRequest {
  gateway?: string;
}

/** One gateway replaced. */
export interface GatewayReplacement {
  old: string;
  new: string;
  /** The TCP address both served, "host:port". */
  address: string;
  /** Sessions the old one held when it was told to drain. */
  sessions: number;
  /** From starting the replacement to the old one's exit. */
  tookMs: number;
  /** From starting the replacement until it answered ready on the ports. */
  readyMs: number;
  /** From the old one's SIGTERM to its exit (answering, moving its sessions, their resumes). */
  drainMs: number;
}

/** Answer of `rollout-gateway`. */
export interface GatewayRolloutResult {
  replaced: GatewayReplacement[];
  durationMs: number;
}

/** Checks a `rollout-gateway` request body. */
export function parseGatewayRolloutRequest(body: unknown): GatewayRolloutRequest {
  const g = ((body ?? {}) as { gateway?: unknown }).gateway;
  if (g === undefined) return {};
  if (typeof g !== "string" || !isSubjectToken(g)) throw new SwitchyardError("BAD_REQUEST", "rollout gateway: the id must be a gateway id (letters, digits, '_', '-')");
  return { gateway: g };
}

/** SIGTERM → SIGKILL grace of a draining gateway: its in-flight requests, then the handover. */
export function gatewayGraceMs(ops: Operations): number {
  const g = ops.config.gateway;
  return g.requestTimeoutMs + g.handoverTimeoutMs + 5_000;
}

/**
 * `ctl rollout gateway [ID]`: for each gateway (one after another), starts a replacement with a
 * new id (`<config id>-<4 hex>`) that takes the same ports (the old one closes its listeners
 * when the new one asks, the new one binds them as soon as they are free), waits until it is
 * ready, then drains the old one (SIGTERM: its sessions are sent to the replacement with KICK
 * MOVED and resume there) and waits for its exit. The old slot is removed, so supervision never
 * respawns it. A replacement that does not become ready stops the rollout.
 */
export async function rolloutGateways(ops: Operations, req: GatewayRolloutRequest): Promise<GatewayRolloutResult> {
  const began = Date.now();
  const slots = ops.supervisor.allSlots().filter((s) => s.kind === ProcessKind.gateway && (req.gateway === undefined || s.gatewayId === req.gateway || s.endpoint === req.gateway));
  if (slots.length === 0) {
    const known = ops.supervisor.allSlots().filter((s) => s.kind === ProcessKind.gateway).map((s) => s.gatewayId).join(", ") || "none";
    throw new SwitchyardError("NOT_FOUND", `rollout gateway${req.gateway ? ` ${req.gateway}` : ""}: this master supervises no such gateway (its gateways: ${known})`);
  }
  const replaced: GatewayReplacement[] = [];
  for (const [i, old] of slots.entries()) {
    const started = Date.now();
    const oldId = old.gatewayId!;
    const next = replacementSlot(old, new Set(ops.supervisor.allSlots().map((s) => s.gatewayId ?? "")));
    const sessions = await sessionCount(ops, oldId);
    ops.supervisor.add(next);
    try {
      await ops.supervisor.waitReady(ops.config.master.readyTimeoutMs * 2, [next.key]);
    } catch (err) {
      await ops.supervisor.remove(next.key, gatewayGraceMs(ops));
      const why = err instanceof NotReadyError ? err.message : String(err);
      // The replacement may have taken the ports before it failed: the old one binds them again.
      const reclaim = await requestPortReclaim(ops.nc, oldId, RECLAIM_ANSWER_MS);
      const old = reclaim === "" ? `${oldId} still holds its sessions and listens on its ports again` : `${oldId} still holds its sessions but could not listen on its ports again (${reclaim}): restart it`;
      throw new SwitchyardError("TIMEOUT", `rollout gateway: the replacement ${next.gatewayId} of ${oldId} did not become ready: ${why} Rollout stopped after ${i} of ${slots.length} gateways; ${old}.`);
    }
    const readyAt = Date.now();
    ops.log.info({ old: oldId, new: next.gatewayId, sessions }, "gateway rollout: replacement ready on the same ports; draining the old one");
    await ops.supervisor.remove(old.key, gatewayGraceMs(ops));
    const l = old.listen;
    const now = Date.now();
    replaced.push({ old: oldId, new: next.gatewayId!, address: l ? `${l.host}:${l.port}` : "", sessions, tookMs: now - started, readyMs: readyAt - started, drainMs: now - readyAt });
  }
  return { replaced, durationMs: Date.now() - began };
}

/** The slot of a replacement: same config entry, ports and host, a fresh id, taking the ports over. */
export function replacementSlot(old: ProcessSlot, takenIds: ReadonlySet<string>): ProcessSlot {
  const endpoint = old.endpoint ?? old.gatewayId!;
  let id: string;
  do id = `${endpoint}-${randomBytes(2).toString("hex")}`;
  while (takenIds.has(id));
  const slot: ProcessSlot = { key: `gateway/${id}`, kind: ProcessKind.gateway, module: "gateway", gatewayId: id, endpoint, takePortsFrom: old.gatewayId! };
  if (old.listen !== undefined) slot.listen = { ...old.listen };
  if (old.host !== undefined) slot.host = old.host;
  return slot;
}

/** Sessions a gateway reports (0 when it does not answer). */
async function sessionCount(ops: Operations, gatewayId: string): Promise<number> {
  try {
    const msg = await ops.nc.request(instanceControlSubject(gatewayId, "status"), undefined, { timeout: 1_000 });
    return (JSON.parse(new TextDecoder().decode(msg.data)) as { sessions?: number }).sessions ?? 0;
  } catch {
    return 0;
  }
}
