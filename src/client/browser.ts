// The client SDK for browsers (and any runtime with a global WebSocket): the same Client as the
// Node SDK, over WebSocket only. `npm run build` bundles this file with the framework's proto/
// into dist/browser/switchyard-client.js (an ES module without Node imports).
import { registryFromDescriptor, type ProtoDescriptor, type ProtoRegistry } from "../proto/codecs.js";
import { openClient, type Client, type TargetOpener } from "./client.js";
import { askGate, targetOfGate } from "./gate.js";
import { resolveCoreOptions, type CoreClientOptions, type ResolvedCoreOptions } from "./options.js";
import { isWebSocketUrl, type GatewayTarget } from "./target.js";
import { openWsTransport, type WebSocketLike } from "./ws-transport.js";

/** Set by the bundler (scripts/build-browser.mjs) to the descriptor of the framework's proto/. */
declare const SWITCHYARD_PROTO_DESCRIPTOR: ProtoDescriptor | undefined;

/** How to reach a gateway from a browser: a WebSocket URL, or the gate that names one. */
export interface BrowserClientOptions extends CoreClientOptions {
  /** The gateway's WebSocket URL, e.g. "ws://127.0.0.1:3251/ws". */
  url?: string;
  /** The gate's URL, e.g. "http://127.0.0.1:3251/gate": connect to the gateway it names. */
  gate?: string;
  /** The proto definitions (protobufjs JSON); default: the ones built into the bundle. */
  proto?: ProtoDescriptor;
}

let embedded: ProtoRegistry | null = null;

function registryOf(opts: BrowserClientOptions): ProtoRegistry {
  if (opts.proto !== undefined) return registryFromDescriptor(opts.proto, "the proto option");
  if (typeof SWITCHYARD_PROTO_DESCRIPTOR === "undefined") {
    throw new RangeError("this build of the browser SDK embeds no proto/: pass connect({ proto }) (a protobufjs JSON descriptor), or use dist/browser/switchyard-client.js");
  }
  embedded ??= registryFromDescriptor(SWITCHYARD_PROTO_DESCRIPTOR, "the proto/ built into the bundle");
  return embedded;
}

function globalWebSocket(): new (url: string) => WebSocketLike {
  const ctor = (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (ctor === undefined) throw new RangeError("this runtime has no global WebSocket: in Node, import connect from \"switchyard/client\"");
  return ctor;
}

async function initialTarget(opts: BrowserClientOptions, core: ResolvedCoreOptions): Promise<GatewayTarget> {
  if ((opts.url === undefined) === (opts.gate === undefined)) throw new RangeError("pass exactly one of url (ws://…/ws) and gate (http://…/gate)");
  if (opts.gate !== undefined) return targetOfGate(await askGate(opts.gate, core.timeoutMs), "ws", opts.gate);
  if (!isWebSocketUrl(opts.url!)) throw new RangeError(`url must start with ws:// or wss://, got "${opts.url}"`);
  return { kind: "ws", url: opts.url! };
}

/**
 * Connects to a gateway over WebSocket and resolves with a ready {@link Client}.
 *
 * @example
 * const client = await connect({ gate: "http://127.0.0.1:3251/gate" });
 * await client.request("login.Login", { username, password });
 */
export async function connect(opts: BrowserClientOptions): Promise<Client> {
  const core = resolveCoreOptions(opts);
  const registry = registryOf(opts);
  const WebSocketCtor = globalWebSocket();
  const openTarget: TargetOpener = (target, events) => {
    if (target.kind !== "ws") return Promise.reject(new RangeError(`a browser cannot open TCP (${target.host}:${target.port}): the gateway needs a wsPort`));
    return openWsTransport({ url: target.url, timeoutMs: core.timeoutMs, maxFrameBytes: core.maxFrameBytes, createSocket: (url) => new WebSocketCtor(url) }, events);
  };
  return openClient(core, registry, openTarget, await initialTarget(opts, core));
}

export type { Client, CloseHandler, ErrorHandler, KickHandler, PushHandler, ReplyOf, RequestOf, RequestOptions, Route } from "./client.js";
export type { CoreClientOptions } from "./options.js";
export type { ProtoDescriptor } from "../proto/codecs.js";
export type { RawPushHandler, Unsubscribe } from "./push-router.js";
export { SwitchyardError, ErrorCode, codeName, isErrorCode, type ErrorCodeName } from "../bus/errors.js";
export type { Routes, Pushes, game, login, rank, team } from "../generated/proto.js";
