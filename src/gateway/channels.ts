import type { Msg, NatsConnection, Subscription } from "nats";
import { channelSubject } from "../bus/subjects.js";
import type { Logger } from "../log/logger.js";
import type { cluster } from "../generated/proto.js";
import type { MessageCodec } from "../proto/registry.js";
import { encodeChannelPush } from "../protocol/packet.js";
import type { Session } from "./session.js";

/** Channel names: subject tokens joined by dots, e.g. "room.42" (no wildcards, no spaces). */
const CHANNEL_NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const MAX_CHANNEL_LENGTH = 200;

/** Null when `channel` can be joined, else why not. */
export function checkChannelName(channel: string): string | null {
  if (channel.length === 0 || channel.length > MAX_CHANNEL_LENGTH || !CHANNEL_NAME.test(channel)) {
    return `channel ${JSON.stringify(channel.slice(0, MAX_CHANNEL_LENGTH))} is not a valid name: use up to ${MAX_CHANNEL_LENGTH} characters of letters, digits, '_', '-' and '.'`;
  }
  return null;
}

interface Channel {
  members: Set<Session>;
  sub: Subscription;
}

/**
 * Channel membership of this gateway's sessions. The gateway subscribes to `chan.<name>` while
 * at least one local session is a member; a cluster.ChannelMessage arriving there is encoded
 * into one PUSH frame, and that same Buffer is queued to every member but the excluded uids.
 */
export class ChannelHub {
  private readonly nc: NatsConnection;
  private readonly codec: MessageCodec<cluster.ChannelMessage>;
  private readonly log: Logger;
  private readonly channels = new Map<string, Channel>();
  /** Messages delivered (one per channel message, however many members). */
  delivered = 0;

  constructor(nc: NatsConnection, codec: MessageCodec<cluster.ChannelMessage>, log: Logger) {
    this.nc = nc;
    this.codec = codec;
    this.log = log;
  }

  /** Channels with at least one local member. */
  get size(): number {
    return this.channels.size;
  }

  /** Local members of a channel (0 when not subscribed). */
  memberCount(channel: string): number {
    return this.channels.get(channel)?.members.size ?? 0;
  }

  /** Adds a session to a channel, subscribing on its first local member; returns an error or null. */
  join(session: Session, channel: string): string | null {
    const bad = checkChannelName(channel);
    if (bad !== null) return bad;
    let ch = this.channels.get(channel);
    if (ch === undefined) {
      const members = new Set<Session>();
      const sub = this.nc.subscribe(channelSubject(channel), {
        callback: (err, msg) => {
          if (err === null) this.deliver(channel, members, msg);
        },
      });
      ch = { members, sub };
      this.channels.set(channel, ch);
    }
    ch.members.add(session);
    if (session.channels === null) session.channels = new Set();
    if (!session.channels.has(channel)) {
      session.channels.add(channel);
      session.membershipChanged();
    }
    return null;
  }

  /** Removes a session from a channel, unsubscribing after its last local member; false if it was not a member. */
  leave(session: Session, channel: string): boolean {
    const ch = this.channels.get(channel);
    if (session.channels?.delete(channel) === true) {
      if (session.away !== null) session.leftWhileAway = true;
      session.membershipChanged();
    }
    if (ch === undefined || !ch.members.delete(session)) return false;
    if (ch.members.size === 0) {
      this.channels.delete(channel);
      ch.sub.unsubscribe();
    }
    return true;
  }

  /** Removes a session from every channel (on close, and when its uid changes). */
  leaveAll(session: Session): void {
    const names = session.channels;
    if (names === null) return;
    for (const name of [...names]) this.leave(session, name);
    session.channels = null;
  }

  /** Unsubscribes from every channel (gateway shutdown). */
  close(): void {
    for (const ch of this.channels.values()) ch.sub.unsubscribe();
    this.channels.clear();
  }

  private deliver(channel: string, members: Set<Session>, msg: Msg): void {
    let m: cluster.ChannelMessage;
    try {
      m = this.codec.decode(msg.data);
    } catch (err) {
      this.log.warn({ err, channel }, "channel message is not a cluster.ChannelMessage: dropped; publish through the module runtime's publish()");
      return;
    }
    if (members.size === 0) return;
    const frame = encodeChannelPush(m.route, m.body, m.id);
    const exclude = m.excludeUids;
    const skip = exclude.length === 0 ? null : exclude.length <= 8 ? exclude : new Set(exclude);
    this.delivered++;
    for (const s of members) {
      if (skip !== null && s.uid !== null && (Array.isArray(skip) ? skip.includes(s.uid) : skip.has(s.uid))) continue;
      s.push(frame, m.id);
    }
  }
}
