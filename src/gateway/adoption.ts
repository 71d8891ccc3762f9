import type { Msg } from "nats";
import type { cluster } from "../generated/proto.js";
import type { Logger } from "../log/logger.js";
import type { OnlineTable, PendingPushes } from "../module/online-table.js";
import type { MessageCodec } from "../proto/registry.js";
import { PacketKind, encodeFrame } from "../protocol/packet.js";
import type { LostSession, PendingFrames, ResumeStore } from "./resume-store.js";
import type { Session } from "./session.js";

/** How long one gateway's claim on a dead gateway's sessions stands (another may retry after it). */
const CLAIM_MS = 10_000;
/** Sessions adopted at once (each costs three Redis round trips). */
const ADOPT_BATCH = 64;

/** What an adoption needs of the gateway that adopts. */
export interface AdoptionHost {
  readonly id: string;
  /**
   * A new away session for `uid` with no connection, holding its pushes (`holding`) until
   * {@link AdoptionHost.settleAdopted}; not yet in the online table.
   */
  createAdopted(uid: string): Session;
  /** The uid moved on before the adoption reached it: the session goes, announcing nothing. */
  dropAdopted(session: Session): void;
  /**
   * The online entry now names `session`: restores what was found, replays the pending pushes
   * (numbered after the kept ones) and then what was held.
   */
  settleAdopted(session: Session, deadGateway: string, found: LostSession, incomplete: boolean, pending: PendingPushes): void;
  /**
   * Publishes sys.session.closed for a session (here: the dead gateway's, named by `gatewayId`,
   * continued by the away session `successor`, "<gatewayId>/<sid>").
   */
  announceClosed(sid: number, uid: string, reason: string, gatewayId: string, successor: string): void;
}

/** Decodes a uid's pending pushes (base64 cluster.PendingPush) into unstamped PUSH frames. */
export function pendingFrames(pending: PendingPushes, codec: MessageCodec<cluster.PendingPush>): PendingFrames {
  return {
    frames: pending.items.map((item) => {
      const p = codec.decode(Buffer.from(item, "base64"));
      return encodeFrame(PacketKind.PUSH, 0, p.route, p.body);
    }),
    overflow: pending.overflow,
  };
}

/**
 * Answers sys.gateway.adopt (queue group "gateways": one live gateway gets each request). The
 * first gateway to claim a dead gateway (`SET NX`, {@link CLAIM_MS}) takes each of its sessions
 * still in the online table: a new away session here (the resume window starts again), the
 * online entry moved to it and the uid's pending pushes taken in one script, the away snapshot
 * the dead gateway stored (if the uid was away) continued. Then it announces the dead session
 * closed, once: presence, chat rooms, game seats and scenes follow as for a disconnect, while
 * point pushes to the uid keep being stored here for its resume.
 */
export class Adoption {
  constructor(
    private readonly host: AdoptionHost,
    private readonly table: OnlineTable,
    private readonly store: ResumeStore,
    private readonly codecs: { request: MessageCodec<cluster.AdoptRequest>; reply: MessageCodec<cluster.AdoptReply> },
    private readonly log: Logger,
  ) {}

  /** Subscription callback of sys.gateway.adopt. */
  handle(msg: Msg): void {
    let req: cluster.AdoptRequest;
    try {
      req = this.codecs.request.decode(msg.data);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, "not a cluster.AdoptRequest: ignored");
      return;
    }
    this.adopt(req).then(
      (reply) => msg.respond(this.codecs.reply.encode(reply)),
      (err: unknown) => this.log.warn({ err: (err as Error).message, gatewayId: req.gatewayId }, "adoption failed: the sweeper asks again once the claim lapses"),
    );
  }

  /** Adopts the sessions of dead gateway `req.gatewayId` claimed before `req.beforeMs` (0: all). */
  async adopt(req: cluster.AdoptRequest): Promise<cluster.AdoptReply> {
    // A gateway restarted under the same id may adopt its previous process's sessions itself.
    if (!(await this.table.claimAdoption(req.gatewayId, this.host.id, CLAIM_MS))) {
      return { adopter: this.host.id, sessions: [], claimed: false };
    }
    const dead = await this.table.sessionsOf(req.gatewayId, req.beforeMs > 0 ? req.beforeMs : Number.POSITIVE_INFINITY);
    const adopted: cluster.SessionClosed[] = [];
    for (let i = 0; i < dead.length; i += ADOPT_BATCH) {
      const batch = dead.slice(i, i + ADOPT_BATCH);
      const done = await Promise.all(batch.map((s) => this.adoptOne(s.uid, { gatewayId: s.gatewayId, sid: s.sid })));
      batch.forEach((s, j) => {
        const sid = done[j];
        if (sid === null || sid === undefined) return;
        const closed = { gatewayId: s.gatewayId, sid: s.sid, uid: s.uid, reason: req.reason, successor: `${this.host.id}/${sid}` };
        this.host.announceClosed(closed.sid, closed.uid, closed.reason, closed.gatewayId, closed.successor);
        adopted.push(closed);
      });
    }
    this.log.info({ gatewayId: req.gatewayId, sessions: adopted.length, reason: req.reason }, "adopted a dead gateway's sessions");
    return { adopter: this.host.id, sessions: adopted, claimed: true };
  }

  /** The adopted session's sid, or null when the uid moved on. */
  private async adoptOne(uid: string, from: { gatewayId: string; sid: number }): Promise<number | null> {
    const found = await this.store.peek(uid);
    // What died with the gateway: the pushes of the uid's channels since the death (an away
    // session's channels are known; a connected one's only by its tie mark) and its pins.
    const incomplete = found.away !== null ? found.away.channels.length > 0 : found.tied;
    const session = this.host.createAdopted(uid);
    let pending: PendingPushes | null;
    try {
      pending = await this.table.adoptSession(uid, from, { gatewayId: this.host.id, sid: session.sid });
    } catch (err) {
      this.host.dropAdopted(session);
      throw err;
    }
    if (pending === null) {
      this.host.dropAdopted(session);
      return null;
    }
    this.host.settleAdopted(session, from.gatewayId, found, incomplete, pending);
    return session.sid;
  }
}
