// The `switchyard` package entry: what a project's modules import. Everything else in src/ is
// internal; the other public entries are `switchyard/client`, `switchyard/testing`, `switchyard/bots`.
export {
  defineModule,
  type CallOptions,
  type Handler,
  type HandlerContext,
  type Handlers,
  type MessageInit,
  type ModuleDefinition,
  type ModuleRuntime,
  type SessionClosedEvent,
  type SessionRef,
} from "./module/define.js";
export {
  SwitchyardError,
  ErrorCode,
  DEFAULT_MESSAGES,
  codeName,
  isErrorCode,
  type ErrorCodeName,
  type SwitchyardErrorOptions,
} from "./bus/errors.js";
/** The schema library module settings are declared with (zod), re-exported so a project needs no second copy. */
export { z } from "zod";
