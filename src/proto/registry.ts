import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import protobuf from "protobufjs";
import { frameworkRoot, projectRoot } from "../config/cluster-config.js";
import { createRegistry, type ProtoRegistry } from "./codecs.js";

export { PUSH_SERVICE_SUFFIX, createRegistry, type MessageCodec, type ProtoRegistry, type RouteCodec } from "./codecs.js";

/** The framework's own proto/ folder (wire, cluster and the standard modules). */
export function frameworkProtoDir(): string {
  return join(frameworkRoot(), "proto");
}

/** The project's proto/ folder: $SWITCHYARD_PROTO_DIR, else proto/ of the project root. */
export function defaultProtoDir(): string {
  const fromEnv = process.env.SWITCHYARD_PROTO_DIR;
  return fromEnv ? resolve(fromEnv) : join(projectRoot(), "proto");
}

/**
 * The folders a registry loads: the framework's proto/, then `dir` (default: the project's
 * proto/) when it exists and is another folder. In the framework's repository both are one.
 */
export function protoDirs(dir = defaultProtoDir()): string[] {
  const framework = frameworkProtoDir();
  const own = resolve(dir);
  return own === framework || !existsSync(own) ? [framework] : [framework, own];
}

const cache = new Map<string, ProtoRegistry>();

/**
 * Loads (once per set of folders) every .proto file of the framework's proto/ and of `dir`
 * (default: the project's proto/; see protoDirs), plus any extra files.
 */
export function loadProto(dir?: string, extraFiles: string[] = []): ProtoRegistry {
  const dirs = protoDirs(dir);
  const key = [...dirs, "", ...extraFiles].join("|");
  const hit = cache.get(key);
  if (hit) return hit;
  const files = dirs.flatMap((d) =>
    readdirSync(d)
      .filter((f) => f.endsWith(".proto"))
      .sort()
      .map((f) => join(d, f)),
  );
  const root = new protobuf.Root();
  root.loadSync([...files, ...extraFiles], { keepCase: false });
  root.resolveAll();
  const registry = createRegistry(dirs, root);
  cache.set(key, registry);
  return registry;
}

