import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { timingSafeEqual } from "node:crypto";
import { SwitchyardError, type ErrorCodeName } from "../protocol/errors.js";
import { frameworkRoot } from "../config/cluster-config.js";
import type { Logger } from "../log/logger.js";
import { PROMETHEUS_CONTENT_TYPE } from "../metrics/exposition.js";

/** A console action: JSON body in, JSON out; a SwitchyardError answers with its code. */
export type ConsoleAction = (body: unknown) => unknown;

/** What the master's HTTP server serves. */
export interface MasterHttpOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The Prometheus page of the whole cluster; null when metrics are off. */
  metrics: (() => Promise<string>) | null;
  /** GET /api/overview. */
  overview: () => Promise<unknown>;
  /** POST /api/<name>, allowed with `Authorization: Bearer <adminToken>` only. */
  actions: Readonly<Record<string, ConsoleAction>>;
  /** "" turns every action off. */
  adminToken: string;
  log: Logger;
}

/** The running server. */
export interface MasterHttp {
  /** "http://host:port/". */
  readonly url: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;

/** The console's files, built into dist/console/ by scripts/build-console.mjs (no CDN: all ships). */
const STATIC: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/console.css": { file: "console.css", type: "text/css; charset=utf-8" },
  "/console.js": { file: "console.js", type: "text/javascript; charset=utf-8" },
};

/** Folder of the built console. */
export function consoleDir(): string {
  return join(frameworkRoot(), "dist", "console");
}

const HTTP_STATUS: Partial<Record<ErrorCodeName, number>> = {
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
};

/**
 * The master's HTTP server: `GET /metrics` (one scrape target for the cluster), the console
 * (`GET /`), its data (`GET /api/overview`) and its actions (`POST /api/<action>`, behind the
 * admin token). Resolves once it listens.
 */
export async function startMasterHttp(opts: MasterHttpOptions): Promise<MasterHttp> {
  const token = Buffer.from(opts.adminToken, "utf8");
  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      const e = SwitchyardError.from(err);
      if (e.code === "INTERNAL") opts.log.error({ err, url: req.url }, "console request failed");
      sendJson(res, HTTP_STATUS[e.code] ?? 500, { code: e.code, message: e.code === "INTERNAL" && err instanceof Error ? err.message : e.message });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0]!;
    if (req.method === "GET" || req.method === "HEAD") {
      if (path === "/metrics") {
        if (opts.metrics === null) throw new SwitchyardError("NOT_FOUND", "metrics are off: set telemetry.metrics to true in the cluster config");
        const text = await opts.metrics();
        res.writeHead(200, { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" });
        res.end(text);
        return;
      }
      if (path === "/api/overview") {
        sendJson(res, 200, await opts.overview());
        return;
      }
      if (path === "/favicon.ico") {
        res.writeHead(204).end();
        return;
      }
      const asset = STATIC[path];
      if (asset !== undefined) {
        const body = await readFile(join(consoleDir(), asset.file)).catch((err: unknown) => {
          throw new SwitchyardError("NOT_FOUND", `the console is not built (${(err as Error).message}): run \`npm run build\``);
        });
        res.writeHead(200, { "content-type": asset.type, "cache-control": "no-cache", "x-content-type-options": "nosniff" });
        res.end(body);
        return;
      }
      throw new SwitchyardError("NOT_FOUND", `no page ${path}: the console is at /, metrics at /metrics`);
    }
    if (req.method === "POST" && path.startsWith("/api/")) {
      const name = path.slice("/api/".length);
      const action = Object.hasOwn(opts.actions, name) ? opts.actions[name] : undefined;
      if (action === undefined) throw new SwitchyardError("NOT_FOUND", `no action "${name}": the actions are ${Object.keys(opts.actions).join(", ")}`);
      checkToken(req.headers.authorization);
      const body = await readJson(req);
      sendJson(res, 200, (await action(body)) ?? { ok: true });
      return;
    }
    throw new SwitchyardError("BAD_REQUEST", `${req.method ?? "?"} ${path}: only GET pages and POST /api/<action> are served`);
  }

  function checkToken(header: string | undefined): void {
    if (token.length === 0) throw new SwitchyardError("FORBIDDEN", "console actions are off: set master.adminToken in the cluster config and restart the master");
    const given = Buffer.from(header?.startsWith("Bearer ") ? header.slice("Bearer ".length) : "", "utf8");
    if (given.length !== token.length || !timingSafeEqual(given, token)) {
      throw new SwitchyardError("UNAUTHENTICATED", "this action needs the admin token: send `Authorization: Bearer <master.adminToken>`");
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
  return {
    url: `http://${host}:${a.port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new SwitchyardError("BAD_REQUEST", `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new SwitchyardError("BAD_REQUEST", "the request body is not JSON");
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}
