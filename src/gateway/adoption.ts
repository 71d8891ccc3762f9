import type { Msg } from "nats";
import type { cluster } from "../generated/proto.js";
import type { Logger } from "../log/logger.js";
import type { OnlineTable, PendingPushes } from "../module/online-table.js";
import type { MessageCodec } from "../proto/registry.js";
import { PacketKind, encodeFrame } from "../protocol/packet.js";
import { LOG_CUT_MARGIN_MS, type ChannelLogRead } from "../redis/channel-log.js";
import type { LoggedPush, LostSession, Membership, PendingFrames, ResumeStore } from "./resume-store.js";
import type { Session } from "./session.js";

/** How long one gateway's claim on a dead gateway's sessions stands (another may retry after it). */
const CLAIM_MS = 10_000;
/** Sessions adopted at once (each costs three Redis round trips). */
const ADOPT_BATCH = 64;

/** What an adoption needs of the gateway that adopts. */
export interface AdoptionHost {
  readonly id: string;
  /**
   * A new away session for `uid` with no connection, in the channels and pins of `m`, holding
   * its pushes (`holding`) until {@link AdoptionHost.settleAdopted}; not yet in the online table.
   */
  createAdopted(uid: string, m: Membership): Session;
  /** Resolves once the channel subscriptions made so far are in effect at nats-server. */
  subscribed(): Promise<void>;
  /** The uid moved on before the adoption reached it: the session goes, announcing nothing. */
  dropAdopted(session: Session): void;
  /**
   * The online entry now names `session`: stores what was found and the channel publications
   * logged since about the death (`logged`, null when a log lost some), then the pending pushes,
   * then what was held (minus what the logs held too).
   */
  settleAdopted(session: Session, deadGateway: string, cutMs: number, found: LostSession, m: Membership, logged: LoggedPush[] | null, incomplete: boolean, pending: PendingPushes): void;
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
    // When the gateway was last seen alive: what its channels published before, it delivered or stored.
    const cutMs = req.cutMs > 0 ? req.cutMs : Date.now() - this.store.limits.windowMs;
    const reads = new SharedReads(this.store);
    for (let i = 0; i < dead.length; i += ADOPT_BATCH) {
      const batch = dead.slice(i, i + ADOPT_BATCH);
      const done = await Promise.all(batch.map((s) => this.adoptOne(s.uid, { gatewayId: s.gatewayId, sid: s.sid }, cutMs, reads)));
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
  private async adoptOne(uid: string, from: { gatewayId: string; sid: number }, cutMs: number, reads: SharedReads): Promise<number | null> {
    const found = await this.store.peek(uid);
    const m: Membership = found.away ?? found.connected ?? { channels: [], pins: [] };
    // The session joins its channels before their logs are read: every publication reaches it
    // through one or the other (both: matched by publication id).
    const session = this.host.createAdopted(uid, m);
    let pending: PendingPushes | null;
    let logged: LoggedPush[] | null;
    try {
      await this.host.subscribed();
      const joinedAt = reads.joined();
      pending = await this.table.adoptSession(uid, from, { gatewayId: this.host.id, sid: session.sid });
      if (pending === null) {
        this.host.dropAdopted(session);
        return null;
      }
      // an away session's pushes were stored by the dead gateway until it died; before it went away, delivered
      const since = found.away !== null ? Math.max(cutMs, found.away.at - LOG_CUT_MARGIN_MS) : cutMs;
      logged = await this.store.logged(uid, m.channels, since, found.away?.pubs ?? new Set(), (channel) => reads.read(channel, since, joinedAt));
    } catch (err) {
      this.host.dropAdopted(session);
      throw err;
    }
    // Pins stay: a pinned instance hears the adoption's announcement as a disconnect and the
    // resume's sys.session.opened as the return (game seats and scenes follow by themselves);
    // what it pushed by session around the death makes the resume answer RESYNC (Gateway.resumedAfterDeath).
    this.host.settleAdopted(session, from.gatewayId, cutMs, found, m, logged, false, pending);
    return session.sid;
  }
}

/**
 * Channel log reads shared by the sessions of one adoption: a read serves a session only when
 * it started after that session's subscription took effect (else a publication between the
 * two would reach neither).
 */
class SharedReads {
  private clock = 0;
  private readonly reads = new Map<string, { startedAt: number; result: Promise<ChannelLogRead> }>();

  constructor(private readonly store: ResumeStore) {}

  /** Marks a session's subscriptions as in effect; pass the result to {@link SharedReads.read}. */
  joined(): number {
    return ++this.clock;
  }

  read(channel: string, since: number, joinedAt: number): Promise<ChannelLogRead> {
    const key = `${since} ${channel}`;
    const cached = this.reads.get(key);
    if (cached !== undefined && cached.startedAt > joinedAt) return cached.result;
    const entry = { startedAt: ++this.clock, result: this.store.readChannel(channel, since) };
    this.reads.set(key, entry);
    return entry.result;
  }
}
