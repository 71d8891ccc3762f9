import { createServer, connect as netConnect, type AddressInfo, type Server, type Socket } from "node:net";

/**
 * A TCP relay between SDK clients and a gateway, to drop connections the way a network does:
 * `drop()` destroys every relayed socket pair; while `refusing` new connections are destroyed
 * at once (the client keeps retrying); `upstream` may change, so the next connection reaches
 * another gateway through the same address.
 */
export class DropProxy {
  refusing = false;
  /** While set, bytes are dropped both ways and the sockets stay open (a half-open link). */
  frozen = false;
  /** Connections relayed so far. */
  accepted = 0;
  private readonly server: Server;
  private readonly pairs = new Set<[Socket, Socket]>();

  private constructor(public upstream: { host: string; port: number }) {
    this.server = createServer((client) => this.relay(client));
  }

  static async start(upstream: { host: string; port: number }): Promise<DropProxy> {
    const proxy = new DropProxy(upstream);
    await new Promise<void>((resolve) => proxy.server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Destroys every relayed connection, both sides, without a FIN (as a lost network would). */
  drop(): void {
    for (const [a, b] of this.pairs) {
      a.resetAndDestroy();
      b.resetAndDestroy();
    }
    this.pairs.clear();
  }

  async stop(): Promise<void> {
    this.drop();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: Socket): void {
    if (this.refusing) {
      client.resetAndDestroy();
      return;
    }
    this.accepted++;
    const server = netConnect(this.upstream.port, this.upstream.host);
    const pair: [Socket, Socket] = [client, server];
    this.pairs.add(pair);
    const end = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    client.on("error", end).on("close", end);
    server.on("error", end).on("close", end);
    client.on("data", (chunk: Buffer) => this.frozen || server.write(chunk));
    server.on("data", (chunk: Buffer) => this.frozen || client.write(chunk));
  }
}
