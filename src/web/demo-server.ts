import { existsSync, readFileSync, readdirSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { ClusterConfig } from "../config/cluster-config.js";
import { frameworkRoot } from "../config/cluster-config.js";
import { dialableHost } from "../master/ports.js";

/** Where the demo page connects (served to it as /config.json). */
export interface DemoClientConfig {
  gate?: string;
  url?: string;
}

/** How the demo server listens and what it tells the page. */
export interface DemoServerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  client: DemoClientConfig;
  /** Folder of the built demo; default dist/web of the framework. */
  dir?: string;
}

/** A running demo server. */
export interface DemoServer {
  /** e.g. "http://127.0.0.1:3280/" */
  readonly url: string;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

/** The built demo (npm run build / scripts/setup.sh write it). */
export function demoDir(): string {
  return join(frameworkRoot(), "dist", "web");
}

/** The gate of the first gateway with a WebSocket port, as a URL a page on this machine can use. */
export function demoClientConfig(cfg: ClusterConfig): DemoClientConfig {
  const g = cfg.gateways.find((gw) => gw.wsPort !== undefined);
  if (g === undefined) return {};
  return { gate: `${g.tls ? "https" : "http"}://${dialableHost(g.host)}:${g.wsPort}${cfg.gateway.gatePath}` };
}

/**
 * Serves the web demo: its few static files (read once at start; nothing else on disk is
 * reachable) and /config.json naming the gate. GET and HEAD only.
 */
export function startDemoServer(opts: DemoServerOptions): Promise<DemoServer> {
  const dir = opts.dir ?? demoDir();
  if (!existsSync(join(dir, "index.html"))) {
    return Promise.reject(new Error(`no web demo in ${dir}: build it with \`npm run build\` (or \`npm run setup\`)`));
  }
  const files = new Map<string, { type: string; body: Buffer }>();
  for (const name of readdirSync(dir)) {
    const type = CONTENT_TYPES[name.slice(name.lastIndexOf("."))];
    if (type !== undefined) files.set(`/${name}`, { type, body: readFileSync(join(dir, name)) });
  }
  files.set("/", files.get("/index.html")!);
  files.set("/config.json", { type: "application/json", body: Buffer.from(JSON.stringify(opts.client)) });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0]!;
    const file = files.get(path);
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain" }).end("only GET and HEAD\n");
    } else if (file === undefined) {
      res.writeHead(404, { "Content-Type": "text/plain" }).end(`no ${path} here: the demo is at /\n`);
    } else {
      res.writeHead(200, { "Content-Type": file.type, "Content-Length": file.body.length, "Cache-Control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : file.body);
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(new Error(`web demo: cannot listen on ${opts.host}:${opts.port}: ${err.code === "EADDRINUSE" ? "the port is taken; pick another with web.port (or --port)" : err.message}`)),
    );
    server.listen(opts.port, opts.host, () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://${dialableHost(opts.host)}:${port}/`,
        close: () => new Promise<void>((done) => server.close(() => done()).closeAllConnections()),
      });
    });
  });
}
