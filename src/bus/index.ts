export { NatsAuthError, connectBus, isNatsAuthError, natsOptions, type NatsSettings } from "./connection.js";
export { HeaderTemplate } from "./encoded-headers.js";
export { checkNatsFastPaths, natsFastPaths, type NatsFastPaths } from "./nats-internals.js";
export { readRequestHeaders, type RequestHeaders } from "./request-headers.js";
export {
  SwitchyardError,
  ErrorCode,
  DEFAULT_MESSAGES,
  codeName,
  isErrorCode,
  type ErrorCodeName,
  type SwitchyardErrorOptions,
} from "./errors.js";
export { Header } from "./headers.js";
export { LifecycleState } from "./lifecycle.js";
export { ReplyMux, DEFAULT_TIMEOUT_MS, type ReplyHandler } from "./reply-mux.js";
export {
  SubjectPrefix,
  SystemSubject,
  channelSubject,
  gatewayCommandSubject,
  instanceSubject,
  instanceWildcard,
  isSubjectToken,
  masterSubject,
  parseRoute,
  replyPrefix,
  serviceSubject,
  serviceWildcard,
} from "./subjects.js";
export {
  announceInstance,
  instanceControlSubject,
  listInstances,
  makeIdentity,
  type InstanceIdentity,
  type InstanceKind,
  type InstanceLoad,
  type InstanceStatus,
} from "./discovery.js";
