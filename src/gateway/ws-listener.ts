import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import type { Socket } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import type { GatewaySettings, GatewayTls } from "../config/cluster-config.js";
import type { Logger } from "../log/logger.js";
import { CLOSE_GRACE_MS } from "./session.js";

/** What the WebSocket listener hands to the gateway. */
export interface WsAcceptor {
  /** A completed upgrade on the WebSocket path; `socket` is the TCP socket under `ws`. */
  acceptWebSocket(ws: WebSocket, socket: Socket): void;
  /** The answer of `GET <gatePath>`: an HTTP status and a JSON body. */
  gateAnswer(): { status: number; body: unknown };
}

/** The settings the listener reads. */
type WsListenerSettings = Pick<GatewaySettings, "wsPath" | "gatePath" | "wsPerMessageDeflate" | "maxFrameBytes" | "firstPacketTimeoutMs">;

/** Longest time the HTTP request line and headers (of an upgrade or a gate request) may take. */
const MAX_HEADERS_MS = 10_000;

/**
 * The HTTP(S) server of a gateway's `wsPort`: WebSocket upgrades on `wsPath` (handed to the
 * gateway, with `maxFrameBytes` as the largest message), the gate on `gatePath`, and a short
 * answer (404 / 405 / 426 / 400) then close for anything else.
 */
export function createWsListener(settings: WsListenerSettings, tls: GatewayTls | undefined, acceptor: WsAcceptor, log: Logger): Server {
  const headersMs = Math.min(settings.firstPacketTimeoutMs, MAX_HEADERS_MS);
  const httpOptions = { headersTimeout: headersMs, requestTimeout: headersMs, connectionsCheckingInterval: Math.min(headersMs, 1_000) };
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => answerRequest(req, res, settings, acceptor);
  const server = tls ? createHttpsServer({ ...httpOptions, cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, onRequest) : createServer(httpOptions, onRequest);
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: settings.maxFrameBytes,
    perMessageDeflate: settings.wsPerMessageDeflate,
    clientTracking: false,
    // No subprotocol: a client offering one gets none back.
    handleProtocols: () => false,
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (pathOf(req) !== settings.wsPath) {
      refuseUpgrade(socket, 404, "Not Found", `no WebSocket endpoint here: connect to ${settings.wsPath}`);
      return;
    }
    // ws answers 400 (or 426 for a wrong version) itself when the upgrade headers are wrong.
    wss.handleUpgrade(req, socket, head, (ws) => acceptor.acceptWebSocket(ws, socket as Socket));
  });
  server.on("clientError", (err: Error, socket: Duplex) => {
    log.debug({ err: err.message }, "bad HTTP request on the WebSocket port");
    refuseUpgrade(socket, 400, "Bad Request", "not an HTTP request");
  });
  server.on("tlsClientError", (err: Error, socket: Duplex) => {
    log.debug({ err: err.message }, "TLS handshake failed on the WebSocket port");
    socket.destroy();
  });
  return server;
}

function answerRequest(req: IncomingMessage, res: ServerResponse, settings: WsListenerSettings, acceptor: WsAcceptor): void {
  const path = pathOf(req);
  if (path === settings.gatePath) {
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendJson(res, 405, { code: "BAD_REQUEST", message: `the gate answers GET ${settings.gatePath}` }, { Allow: "GET, HEAD" });
      return;
    }
    const answer = acceptor.gateAnswer();
    sendJson(res, answer.status, answer.body, { "Cache-Control": "no-store", "Access-Control-Allow-Origin": "*" });
    return;
  }
  if (path === settings.wsPath) {
    sendJson(res, 426, { code: "BAD_REQUEST", message: `${settings.wsPath} is a WebSocket endpoint: send an Upgrade: websocket request` }, { Upgrade: "websocket" });
    return;
  }
  sendJson(res, 404, { code: "NOT_FOUND", message: `nothing at ${path.slice(0, 100)}: the gateway serves ${settings.wsPath} (WebSocket) and ${settings.gatePath}` });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), ...(status >= 400 ? { Connection: "close" } : {}), ...headers });
  res.end(text);
}

/** Answers an upgrade (or unparsable bytes) with a short HTTP error and closes the socket. */
function refuseUpgrade(socket: Duplex, status: number, statusText: string, message: string): void {
  if (socket.writable) {
    socket.end(`HTTP/1.1 ${status} ${statusText}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`);
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  } else {
    socket.destroy();
  }
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}
