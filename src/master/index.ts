export { findBinary } from "./binaries.js";
export { CrashHistory, restartDelayMs, type RestartDecision, type RestartPolicy } from "./backoff.js";
export { connectOnce, requestMaster, NatsUnreachableError } from "./ctl-client.js";
export { startCtlServer, type CtlHandler, type CtlServer } from "./ctl-server.js";
export { ensureEmbeddedServers, hostPort, pidFilePath, type EmbeddedServer } from "./embedded-servers.js";
export { freePort, isListening, waitForPort } from "./ports.js";
export type { SpawnProcess } from "./instance-process.js";
export { runMaster, STOP_GRACE_MS, type MasterOptions } from "./master.js";
export {
  ProcessKind,
  commandArgs,
  displayAddress,
  instanceIdFor,
  moduleSlot,
  newInstanceId,
  planProcesses,
  readyLine,
  type ProcessSlot,
} from "./process-plan.js";
export { parseScaleRequest, scaleModule, type ScaleRequest, type ScaleResult } from "./scale.js";
export { ProcessState, type ExitInfo, type MasterStatus, type SupervisedStatus } from "./status.js";
export { NotReadyError, Supervisor, type SupervisorOptions } from "./supervisor.js";
