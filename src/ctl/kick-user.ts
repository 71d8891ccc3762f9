import type { NatsConnection } from "nats";
import { listInstances } from "../bus/discovery.js";
import { ErrorCode, SwitchyardError } from "../protocol/errors.js";
import { gatewayCommandSubject } from "../bus/subjects.js";
import type { cluster } from "../generated/proto.js";
import { loadProto } from "../proto/registry.js";

/** Reason shown to a client kicked by an operator who gave none. */
export const DEFAULT_KICK_REASON = "kicked by an operator";

/** Where a kick landed. */
export interface KickResult {
  uid: string;
  /** Gateways that closed a session of the uid. */
  kickedOn: string[];
  /** Every gateway asked. */
  asked: string[];
}

/**
 * Asks every gateway that answers discovery to kick the sessions of `uid` (a gateway holding
 * none answers "no session"), so it needs neither the master's state nor Redis. The client gets
 * KICK(FORBIDDEN, reason), then the connection closes. Used by `ctl kick` and the console.
 */
export async function kickUser(nc: NatsConnection, uid: string, reason: string): Promise<KickResult> {
  const gateways = (await listInstances(nc)).filter((i) => i.kind === "gateway").map((i) => i.instance);
  if (gateways.length === 0) throw new SwitchyardError("UNAVAILABLE", "no gateway answers discovery: is the cluster running?");
  const proto = loadProto();
  const command = proto.message<cluster.GatewayCommand>("cluster.GatewayCommand");
  const ack = proto.message<cluster.CommandAck>("cluster.CommandAck");
  const body = command.encode({ kick: { sid: 0, uid, code: ErrorCode.FORBIDDEN, reason, handover: false } });
  const answers = await Promise.all(
    gateways.map(async (id) => {
      try {
        return { id, ok: ack.decode((await nc.request(gatewayCommandSubject(id), body, { timeout: 2_000 })).data).ok };
      } catch {
        return { id, ok: false };
      }
    }),
  );
  const kickedOn = answers.filter((a) => a.ok).map((a) => a.id);
  if (kickedOn.length === 0) throw new SwitchyardError("NOT_FOUND", `no session of uid ${JSON.stringify(uid)} on any gateway (asked ${gateways.join(", ")})`);
  return { uid, kickedOn, asked: gateways };
}
