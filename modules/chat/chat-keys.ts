/** Prefix of every chat key in Redis. */
const PREFIX = "sy:chat:";

/**
 * Redis keys of the chat module, spelled once. A room's keys share the hash tag `{room}`.
 *
 * - `rooms`: set of room names with members
 * - `members(room)`: set of member uids
 * - `history(room)`: stream of the room's last messages (field `m`: the message as JSON)
 * - `joined(uid)`: set of the rooms the uid is in
 * - `mute(room, uid)` / `ban(room, uid)`: present while muted / banned (TTL = what is left)
 * - `sendCount(uid)`: messages sent in the current rate window (expires with it)
 * - `inbox(uid)`: sorted set inbox seq → private message JSON, until acknowledged
 * - `inboxSeq(uid)`: the uid's last inbox sequence number
 * - `conversation(a, b)`: stream of the private messages between a and b (uids in sorted order)
 */
export const ChatKeys = {
  rooms: `${PREFIX}rooms`,
  members: (room: string) => `${PREFIX}room:{${room}}:members`,
  history: (room: string) => `${PREFIX}room:{${room}}:history`,
  joined: (uid: string) => `${PREFIX}joined:${uid}`,
  mute: (room: string, uid: string) => `${PREFIX}room:{${room}}:mute:${uid}`,
  ban: (room: string, uid: string) => `${PREFIX}room:{${room}}:ban:${uid}`,
  sendCount: (uid: string) => `${PREFIX}sent:${uid}`,
  inbox: (uid: string) => `${PREFIX}inbox:${uid}`,
  inboxSeq: (uid: string) => `${PREFIX}inbox-seq:${uid}`,
  conversation: (a: string, b: string) => (a < b ? `${PREFIX}conv:${a}:${b}` : `${PREFIX}conv:${b}:${a}`),
} as const;

/** Name of a room's channel: its messages are published there. */
export function roomChannel(room: string): string {
  return `chat.${room}`;
}
