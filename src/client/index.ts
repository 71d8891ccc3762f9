// The TypeScript client SDK: what game clients, the CLI, bots and benchmarks import.
export {
  connect,
  connect as createClient,
  type Client,
  type CloseHandler,
  type ErrorHandler,
  type KickHandler,
  type PushHandler,
  type ReplyOf,
  type RequestOf,
  type RequestOptions,
  type Route,
} from "./client.js";
export { CLIENT_DEFAULTS, type ClientOptions } from "./options.js";
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
