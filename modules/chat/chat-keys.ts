/** Prefix of every chat key in Redis. */
const PREFIX = "sy:chat:";

/**
 * Prefix of every chat key a script touches. `{chat}` is a hash tag: Leave changes a room's
 * members, the user's rooms and the room list in one step, and Tell a receiver's inbox and the
 * conversation both users share, so all of them share one Redis Cluster slot.
 */
const SCRIPTED = `${PREFIX}{chat}:`;

/**
 * Redis keys of the chat module, spelled once; scripts get them through KEYS.
 *
 * - `rooms`: set of room names with members
 * - `members(room)`: set of member uids
 * - `joined(uid)`: set of the rooms the uid is in
 * - `inbox(uid)`: sorted set inbox seq → private message JSON, until acknowledged
 * - `inboxSeq(uid)`: the uid's last inbox sequence number
 * - `conversation(a, b)`: stream of the private messages between a and b (uids in sorted order)
 *
 * Keys no script touches are read and written one per command and keep their own slots:
 * - `history(room)`: stream of the room's last messages (field `m`: the message as JSON)
 * - `mute(room, uid)` / `ban(room, uid)`: present while muted / banned (TTL = what is left)
 * - `sendCount(uid)`: messages sent in the current rate window (expires with it)
 */
export const ChatKeys = {
  rooms: `${SCRIPTED}rooms`,
  members: (room: string) => `${SCRIPTED}room:${room}:members`,
  joined: (uid: string) => `${SCRIPTED}joined:${uid}`,
  inbox: (uid: string) => `${SCRIPTED}inbox:${uid}`,
  inboxSeq: (uid: string) => `${SCRIPTED}inbox-seq:${uid}`,
  conversation: (a: string, b: string) => (a < b ? `${SCRIPTED}conv:${a}:${b}` : `${SCRIPTED}conv:${b}:${a}`),
  history: (room: string) => `${PREFIX}room:{${room}}:history`,
  mute: (room: string, uid: string) => `${PREFIX}room:{${room}}:mute:${uid}`,
  ban: (room: string, uid: string) => `${PREFIX}room:{${room}}:ban:${uid}`,
  sendCount: (uid: string) => `${PREFIX}sent:${uid}`,
} as const;

/** Name of a room's channel: its messages are published there. */
export function roomChannel(room: string): string {
  return `chat.${room}`;
}
