// Redis clients of the cluster: one factory (single server or Sentinel) and write confirmation.
export { createRedisClient, type RedisClientOptions } from "./client-factory.js";
export { createWriteConfirmer, type WriteConfirmer } from "./write-confirmation.js";
