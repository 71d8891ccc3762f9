// `switchyard/testing`: start a real cluster (nats-server, redis-server, gateways, modules) inside
// a test, talk to it with typed SDK clients, tear it down leaving no process.
export {
  startCluster,
  type ClusterSpec,
  type LoggedInClient,
  type ModuleSource,
  type ModuleSpec,
  type TestCluster,
} from "./cluster.js";
export { testConfig } from "./config.js";
export { startNats, startNatsCluster, startRedis, type RunningNatsCluster, type RunningServer } from "./servers.js";
export type { ReplyIn, RequestIn, TypedClient } from "./typed-client.js";
