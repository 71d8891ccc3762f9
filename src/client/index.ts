// The TypeScript client SDK for Node: what game clients, the CLI, bots and benchmarks import.
// The browser bundle's entry is browser.ts (same Client, WebSocket only).
export { connect, connect as createClient, type ClientOptions } from "./connect.js";
export {
  type Client,
  type CloseHandler,
  type DisconnectHandler,
  type ReconnectHandler,
  type ErrorHandler,
  type KickHandler,
  type PushHandler,
  type ReplyOf,
  type RequestOf,
  type RequestOptions,
  type Route,
} from "./client.js";
export { CLIENT_DEFAULTS, type CoreClientOptions } from "./options.js";
export { RECONNECT_DEFAULTS, type ReconnectInfo, type ReconnectOptions } from "./reconnect.js";
export { type RawPushHandler, type Unsubscribe } from "./push-router.js";
export { MISSED_HEARTBEATS_LIMIT } from "./heartbeat.js";
// Error codes are the framework's, spelled once in src/protocol/errors.ts (numbers in proto/wire.proto).
export {
  SwitchyardError,
  ErrorCode,
  DEFAULT_MESSAGES,
  codeName,
  isErrorCode,
  type ErrorCodeName,
} from "../protocol/errors.js";
export type { Routes } from "../generated/proto.js";
