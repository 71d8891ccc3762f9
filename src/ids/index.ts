export { SnowflakeGenerator, decodeSnowflake, SNOWFLAKE_EPOCH_MS, MAX_WORKER_ID, type SnowflakeParts } from "./snowflake.js";
export { WorkerLease, type WorkerLeaseOptions } from "./worker-lease.js";
export { startIdGenerator, type IdGenerator } from "./id-generator.js";
