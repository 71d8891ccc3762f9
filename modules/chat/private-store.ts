import type { Redis } from "ioredis";
import { SwitchyardError } from "../../src/protocol/errors.js";
import type { chat } from "../../src/generated/proto.js";
import { defineRedisCommand } from "../../src/module/redis-command.js";
import { ChatKeys as K } from "./chat-keys.js";
import { readBackwards, type StreamPage } from "./stream-page.js";

// Inbox and conversation change in one step: an acknowledged Tell is in both or (on error) in
// neither. Answers the new inbox seq, or -1 when the inbox is full.
const DELIVER = defineRedisCommand<[inbox: string, inboxSeq: string, conversation: string], [messageJson: string, inboxLimit: number, conversationLength: number], number>({
  name: "syChatDeliver",
  numberOfKeys: 3,
  lua: `
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return -1 end
local seq = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], seq, ARGV[1])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'm', ARGV[1])
return seq`,
});

/** A private message as stored (its inbox seq is the sorted-set score, not part of it). */
export type StoredPrivate = Omit<chat.PrivateMessage, "seq">;

/**
 * Private messages in Redis. Each Tell goes into the receiver's inbox (a sorted set by inbox
 * sequence number, kept until the receiver acknowledges it) and into the conversation stream
 * of the two users (capped history). Delivery is at least once (a push, then Inbox until Ack);
 * the seq makes it exactly once for a client that keeps the highest seq it processed.
 */
export class PrivateStore {
  constructor(
    private readonly redis: Redis,
    private readonly limits: { inboxLimit: number; conversationLength: number },
  ) {}

  /** Stores a message for its receiver; returns its inbox seq. */
  async deliver(msg: StoredPrivate): Promise<number> {
    const json = JSON.stringify(msg);
    const keys = [K.inbox(msg.toUid), K.inboxSeq(msg.toUid), K.conversation(msg.fromUid, msg.toUid)] as const;
    const seq = await DELIVER.run(this.redis, keys, [json, this.limits.inboxLimit, this.limits.conversationLength]);
    if (seq < 0) throw new SwitchyardError("CONFLICT", `the receiver has ${this.limits.inboxLimit} unread private messages, the most kept: try again after they read them`);
    return seq;
  }

  /** Unacknowledged messages with seq > afterSeq, ascending, and whether more follow. */
  async inbox(uid: string, afterSeq: number, limit: number): Promise<{ messages: chat.PrivateMessage[]; more: boolean }> {
    const flat = await this.redis.zrangebyscore(K.inbox(uid), `(${afterSeq}`, "+inf", "WITHSCORES", "LIMIT", 0, limit + 1);
    const messages: chat.PrivateMessage[] = [];
    for (let i = 0; i < flat.length && messages.length < limit; i += 2) {
      messages.push({ ...(JSON.parse(flat[i]!) as StoredPrivate), seq: Number(flat[i + 1]) });
    }
    return { messages, more: flat.length / 2 > limit };
  }

  /** Drops every inbox message with seq ≤ upToSeq; returns how many are left. */
  async ack(uid: string, upToSeq: number): Promise<number> {
    const replies = await this.redis.multi().zremrangebyscore(K.inbox(uid), "-inf", upToSeq).zcard(K.inbox(uid)).exec();
    return Number(replies?.[1]?.[1] ?? 0);
  }

  async conversation(a: string, b: string, before: string, limit: number): Promise<StreamPage<chat.PrivateMessage>> {
    const page = await readBackwards<StoredPrivate>(this.redis, K.conversation(a, b), before, limit);
    return { items: page.items.map((m) => ({ ...m, seq: 0 })), before: page.before };
  }
}
