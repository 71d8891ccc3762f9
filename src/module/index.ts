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
  type ResumePoint,
  type RuntimeOf,
  type SessionClosedEvent,
  type SessionOpenedEvent,
  type SessionRef,
} from "./define.js";
export type { ServiceRef, MethodsOf, RoutesOf, PushesOf, RequestType, ReplyType } from "./service-ref.js";
export { parseModuleSettings, SettingsError } from "./settings.js";
export { startModule, type ModuleHost, type ModuleHostOptions } from "./host.js";
export { loadModuleDefinition } from "./loader.js";
export { OnlineTable, parseGatewaySession, type OnlineEntry, type GatewaySession, type PendingPushes } from "./online-table.js";
export { GatewaySweeper, DEAD_CONFIRM_MS, SILENT_RELEASE_MS, SWEEPER_LEASE_MS, SWEEP_INTERVAL_MS, type DeadSession, type PingOutcome, type SweepActions } from "./gateway-sweep.js";
export { z } from "zod";
