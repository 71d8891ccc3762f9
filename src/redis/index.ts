// Redis clients of the cluster: one factory (single server or Sentinel) and write confirmation.
export { createRedisClient, type RedisClientOptions, type RedisEndpoint } from "./client-factory.js";
export { confirmReplicasOf, createWriteConfirmer, type WriteConfirmer } from "./write-confirmation.js";
export { RedisWriteBatch } from "./write-batching.js";
