import protobuf from "protobufjs";
import { SwitchyardError } from "../bus/errors.js";

// Codecs over a protobufjs Root, with no file system access: the Node loader (registry.ts)
// and the browser SDK (a Root built from a JSON descriptor) share them.

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

/**
 * The registry of a resolved protobufjs Root: every rpc of every request service by route and
 * every push of every `<Name>Push` service. `dirs` names where the definitions came from.
 */
export function createRegistry(dirs: string[], root: protobuf.Root): ProtoRegistry {
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
        return type.decode(isNodeBuffer(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) : bytes);
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

/** Node's Buffer is absent in browsers; a Uint8Array there is never one. */
function isNodeBuffer(bytes: Uint8Array): boolean {
  const NodeBuffer = (globalThis as { Buffer?: { isBuffer(b: unknown): boolean } }).Buffer;
  return NodeBuffer !== undefined && NodeBuffer.isBuffer(bytes);
}

/** A protobufjs JSON descriptor (`Root.toJSON()`): how proto/ travels to a browser. */
export type ProtoDescriptor = protobuf.INamespace;

/** The registry of a JSON descriptor, e.g. the one the browser bundle embeds. */
export function registryFromDescriptor(descriptor: ProtoDescriptor, source: string): ProtoRegistry {
  const root = protobuf.Root.fromJSON(descriptor);
  root.resolveAll();
  return createRegistry([source], root);
}
