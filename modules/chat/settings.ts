import { z } from "../../src/module/index.js";

const positive = z.number().int().min(1);

/** modules.chat.settings, with their defaults. */
export const ChatSettingsSchema = z
  .object({
    /** Longest message text, in characters (Say and Tell). */
    maxTextLength: positive.max(10_000).default(500),
    /** Messages kept per room (older ones are trimmed). */
    historyLength: positive.default(500),
    /** Messages kept per private conversation. */
    conversationLength: positive.default(1_000),
    /** Largest page of History, Conversation, Inbox and Members. */
    maxPageSize: positive.max(5_000).default(500),
    /** Messages (Say and Tell together) one user may send per window, across instances. */
    maxMessagesPerWindow: positive.default(20),
    rateWindowSeconds: positive.default(10),
    /** Unacknowledged private messages a user may have; Tell to a full inbox is refused. */
    inboxLimit: positive.default(10_000),
    /** Rooms one user may be in at once. */
    maxRoomsPerUser: positive.default(20),
    /** The world chat room: always listed by chat.Rooms. */
    worldRoom: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/).default("world"),
    /** Uids that may call the admin routes (Mute, Unmute, Ban, Unban) from a client. */
    admins: z.array(z.string()).default([]),
  })
  .strict()
  .transform(({ admins, ...rest }) => ({ ...rest, admins: new Set(admins) }));

/** The chat module's settings, defaults filled in. */
export type ChatSettings = z.output<typeof ChatSettingsSchema>;
