import { pino, type Logger } from "pino";

export type { Logger } from "pino";

/**
 * The process logger: pino JSON on stdout with `module` and `instance` bound once, so every
 * line (and every child's line) says where it came from. Request handlers add `rid`.
 */
export function createLogger(module: string, instance: string, level = process.env.SWITCHYARD_LOG_LEVEL ?? "info"): Logger {
  return pino({ level, base: { module, instance, pid: process.pid } });
}
