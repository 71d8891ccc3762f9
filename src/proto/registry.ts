import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import protobuf from "protobufjs";
import { SwitchyardError } from "../protocol/errors.js";
import { frameworkRoot, projectRoot } from "../config/cluster-config.js";

/** Encoder/decoder of one protobuf message type. */
export interface MessageCodec<T> {
  readonly typeName: string;
  encode(msg: Partial<T>): Uint8Array;
  decode(bytes: Uint8Array): T;
  /** Builds a message from JSON-like input (CLI, REPL), rejecting unknown shapes. */
  fromJson(obj: unknown): T;
  /** Plain JSON-friendly object (bytes as base64, defaults included). */
  toJson(msg: T): Record<string, unknown>;
}

/** Request and reply codecs of one route. */
export interface RouteCodec<Req = unknown, Res = unknown> {
  readonly route: string;
  readonly request: MessageCodec<Req>;
  readonly response: MessageCodec<Res>;
}

/** The loaded proto/ folders: message types and the rpcs of every service by route. */
export interface ProtoRegistry {
  /** The folders loaded, comma-separated (for messages: "no route in <dir>"). */
  readonly dir: string;
  /** The folders loaded: the framework's proto/ first. */
  readonly dirs: readonly string[];
  message<T>(typeName: string): MessageCodec<T>;
  /** Codecs of a route "<package>.<Method>", or null when no service declares it. */
  route<Req = unknown, Res = unknown>(route: string): RouteCodec<Req, Res> | null;
  /** Every route declared by a request service. */
  routes(): string[];
  /** Codec of a push route (an rpc of a `<Name>Push` service), or null when none declares it. */
  push<T = unknown>(route: string): MessageCodec<T> | null;
  /** Every declared push route. */
  pushes(): string[];
}

/** A service whose name ends in this declares the pushes of its package, one rpc per push route. */
export const PUSH_SERVICE_SUFFIX = "Push";

function isPushService(service: protobuf.Service): boolean {
  return service.name.endsWith(PUSH_SERVICE_SUFFIX) && service.name !== PUSH_SERVICE_SUFFIX;
}

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

function createRegistry(dirs: string[], root: protobuf.Root): ProtoRegistry {
  const messages = new Map<string, MessageCodec<unknown>>();
  const routes = new Map<string, RouteCodec>();
  const pushes = new Map<string, MessageCodec<unknown>>();

  for (const ns of root.nestedArray) {
    if (!(ns instanceof protobuf.Namespace) || ns instanceof protobuf.Type) continue;
    for (const item of ns.nestedArray) {
      if (!(item instanceof protobuf.Service)) continue;
      for (const m of item.methodsArray) {
        m.resolve();
        const route = `${ns.name}.${m.name}`;
        if (isPushService(item)) {
          pushes.set(route, codecOf(m.resolvedRequestType!));
          continue;
        }
        routes.set(route, {
          route,
          request: codecOf(m.resolvedRequestType!),
          response: codecOf(m.resolvedResponseType!),
        });
      }
    }
  }

  function codecOf(type: protobuf.Type): MessageCodec<unknown> {
    const name = type.fullName.replace(/^\./, "");
    let codec = messages.get(name);
    if (codec) return codec;
    codec = makeCodec(name, type);
    messages.set(name, codec);
    return codec;
  }

  return {
    dir: dirs.join(", "),
    dirs,
    message<T>(typeName: string): MessageCodec<T> {
      const type = root.lookupType(typeName);
      return codecOf(type) as MessageCodec<T>;
    },
    route<Req, Res>(route: string): RouteCodec<Req, Res> | null {
      return (routes.get(route) as RouteCodec<Req, Res> | undefined) ?? null;
    },
    routes(): string[] {
      return [...routes.keys()].sort();
    },
    push<T>(route: string): MessageCodec<T> | null {
      return (pushes.get(route) as MessageCodec<T> | undefined) ?? null;
    },
    pushes(): string[] {
      return [...pushes.keys()].sort();
    },
  };
}

function makeCodec(typeName: string, type: protobuf.Type): MessageCodec<unknown> {
  return {
    typeName,
    encode(msg) {
      return type.encode(msg as Record<string, unknown>).finish();
    },
    decode(bytes) {
      try {
        // protobufjs' Buffer reader clamps a string that runs past the end instead of failing;
        // its plain Uint8Array reader checks bounds, so malformed bodies are rejected.
        return type.decode(Buffer.isBuffer(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) : bytes);
      } catch (err) {
        throw new SwitchyardError("BAD_REQUEST", `the body is not a valid ${typeName}: ${(err as Error).message}`, { cause: err });
      }
    },
    fromJson(obj) {
      if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
        throw new SwitchyardError("BAD_REQUEST", `expected a JSON object for ${typeName}`);
      }
      for (const key of Object.keys(obj)) {
        if (!type.fields[key] && !type.fieldsArray.some((f) => f.options?.json_name === key)) {
          const known = type.fieldsArray.map((f) => f.name).join(", ") || "(none)";
          throw new SwitchyardError("BAD_REQUEST", `${typeName} has no field "${key}"; its fields are: ${known}`);
        }
      }
      try {
        return type.fromObject(obj as Record<string, unknown>);
      } catch (err) {
        throw new SwitchyardError("BAD_REQUEST", `${typeName}: ${(err as Error).message}`, { cause: err });
      }
    },
    toJson(msg) {
      return type.toObject(msg as protobuf.Message, { defaults: true, bytes: String, enums: String, longs: Number });
    },
  };
}
