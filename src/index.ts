// The `switchyard` package entry: what a project's modules import. Everything else in src/ is
// internal; the other public entries are `switchyard/client`, `switchyard/testing`, `switchyard/bots`.
export {
  defineModule,
  type CallOptions,
  type CallerRef,
  type ContextOf,
  type Handler,
  type HandlerContext,
  type Handlers,
  type InstanceTimer,
  type MessageInit,
  type ModuleDefinition,
  type ModuleRuntime,
  type ModuleSpec,
  type RuntimeOf,
  type SessionClosedEvent,
  type SessionOpenedEvent,
  type SessionRef,
} from "./module/define.js";
export type { ServiceRef } from "./module/service-ref.js";
export type { TraceContext } from "./tracing/trace-context.js";
export {
  SwitchyardError,
  ErrorCode,
  DEFAULT_MESSAGES,
  codeName,
  isErrorCode,
  type ErrorCodeName,
  type SwitchyardErrorOptions,
} from "./protocol/errors.js";
/** The schema library module settings are declared with (zod), re-exported so a project needs no second copy. */
export { z } from "zod";
/** Snowflake ids with worker ids leased in Redis (unique across instances and restarts). */
export { startIdGenerator, decodeSnowflake, type IdGenerator, type SnowflakeParts } from "./ids/index.js";
