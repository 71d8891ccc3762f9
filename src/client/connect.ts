import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import WebSocket from "ws";
import { loadProto } from "../proto/registry.js";
import { openClient, type Client, type TargetOpener } from "./client.js";
import { askGate, targetOfGate } from "./gate.js";
import { CLIENT_DEFAULTS, checkPort, resolveCoreOptions, type CoreClientOptions, type ResolvedCoreOptions } from "./options.js";
import { isWebSocketUrl, type GatewayTarget } from "./target.js";
import { openTcpTransport } from "./tcp-transport.js";
import { openWsTransport, type WebSocketLike } from "./ws-transport.js";

/**
 * How to reach a gateway (Node): `{ host, port }` over TCP, `{ url: "ws://…/ws" }` over
 * WebSocket, or `{ gate: "http://…/gate" }` asking the gate for the least-loaded gateway.
 */
export interface ClientOptions extends CoreClientOptions {
  /** Gateway host; default "127.0.0.1". */
  host?: string;
  /** Gateway TCP port; default 3250. */
  port?: number;
  /** A WebSocket URL (ws:// or wss://), instead of host and port. */
  url?: string;
  /** The gate's URL (http://host:port/gate): connect to the gateway it names. */
  gate?: string;
  /** With `gate`: which of the gateway's addresses to use; default "tcp". */
  transport?: "tcp" | "ws";
  /** Folder of the .proto files describing the routes; default: the project's proto/. */
  protoDir?: string;
  /**
   * TLS (the gateway has `tls` in its config): true verifies the gateway's certificate against
   * the system CAs; pass node:tls options for more, e.g. `{ ca }` for a private CA or a
   * self-signed certificate, `servername`. Applies to TCP and to wss:// URLs. Default: none.
   */
  tls?: boolean | TlsConnectionOptions;
}

/** Where the options point, asking the gate when they name one. */
async function initialTarget(options: ClientOptions, core: ResolvedCoreOptions): Promise<GatewayTarget> {
  const ways = [options.url !== undefined, options.gate !== undefined, options.host !== undefined || options.port !== undefined];
  if (ways.filter(Boolean).length > 1) throw new RangeError("pass one of url, gate, or host/port");
  if (options.transport !== undefined && options.gate === undefined) throw new RangeError("transport chooses among the gate's addresses: pass it with gate");
  if (options.gate !== undefined) return targetOfGate(await askGate(options.gate, core.timeoutMs), options.transport ?? "tcp", options.gate);
  if (options.url !== undefined) {
    if (!isWebSocketUrl(options.url)) throw new RangeError(`url must start with ws:// or wss://, got "${options.url}" (for TCP pass host and port)`);
    return { kind: "ws", url: options.url };
  }
  const port = options.port ?? CLIENT_DEFAULTS.port;
  checkPort(port);
  return { kind: "tcp", host: options.host ?? CLIENT_DEFAULTS.host, port };
}

/** Node's transports: TCP (net/tls) and WebSocket (the `ws` package). */
function nodeOpener(options: ClientOptions, core: ResolvedCoreOptions): TargetOpener {
  const tls = options.tls === true ? {} : options.tls ? options.tls : null;
  return (target, events) => {
    if (target.kind === "tcp") {
      return openTcpTransport({ host: target.host, port: target.port, timeoutMs: core.timeoutMs, maxFrameBytes: core.maxFrameBytes, tls }, events);
    }
    return openWsTransport(
      {
        url: target.url,
        timeoutMs: core.timeoutMs,
        maxFrameBytes: core.maxFrameBytes,
        createSocket: (url) =>
          new WebSocket(url, { maxPayload: core.maxFrameBytes, perMessageDeflate: false, ...(tls ?? {}) }) as unknown as WebSocketLike,
      },
      events,
    );
  };
}

/**
 * Connects to a gateway and resolves with a ready {@link Client}. Rejects with UNAVAILABLE
 * (naming the address) when the gateway cannot be reached.
 *
 * @example
 * await using client = await connect({ port: 3250 });            // or { url: "ws://127.0.0.1:3260/ws" }
 * const { uid, token } = await client.request("login.Login", { username, password });
 */
export async function connect(options: ClientOptions = {}): Promise<Client> {
  const core = resolveCoreOptions(options);
  const target = await initialTarget(options, core);
  return openClient(core, loadProto(options.protoDir), nodeOpener(options, core), target);
}
