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
} from "./define.js";
export { startModule, type ModuleHost, type ModuleHostOptions } from "./host.js";
export { loadModuleDefinition } from "./loader.js";
export { OnlineTable, type OnlineEntry } from "./online-table.js";
