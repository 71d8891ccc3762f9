import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { Socket, createServer, type AddressInfo, type Server } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import type { Server as HttpServer } from "node:http";
import type { NatsConnection, Service, Subscription } from "nats";
import type { WebSocket } from "ws";
import { connectBus, type NatsSettings } from "../bus/connection.js";
import { announceInstance, makeIdentity, type ClientEndpoints, type InstanceLoad } from "../bus/discovery.js";
import { GatewayDirectory, type GatewayChoice } from "../bus/gateway-directory.js";
import { ErrorCode } from "../protocol/errors.js";
import { LifecycleState } from "../bus/lifecycle.js";
import { ReplyMux } from "../bus/reply-mux.js";
import { GATEWAY_ADOPT_QUEUE, SystemSubject, gatewayBindSubject, gatewayCommandSubject, isSubjectToken } from "../bus/subjects.js";
import type { GatewaySettings, GatewayTls } from "../config/cluster-config.js";
import type { cluster } from "../generated/proto.js";
import { createLogger, type Logger } from "../log/logger.js";
import { serveMetrics } from "../metrics/gather.js";
import { GatewayMetrics, RefusalReason } from "../metrics/gateway-metrics.js";
import { ProcessMetrics } from "../metrics/process-metrics.js";
import { createSpanSink, type SpanSink } from "../tracing/span-exporter.js";
import { loadProto, type MessageCodec, type ProtoRegistry } from "../proto/registry.js";
import type { FramingError } from "../protocol/framing.js";
import { PacketKind, decodePacket, encodeFrame } from "../protocol/packet.js";
import { ChannelHub } from "./channels.js";
import { CommandHandler, type CommandTarget } from "./commands.js";
import { Forwarder } from "./forwarder.js";
import { Admission, SHUTTING_DOWN, refuseTcp, refuseWebSocket, type AdmissionState } from "./admission.js";
import { RateVerdict } from "./rate-limit.js";
import { SessionTable } from "./session-table.js";
import { GatewayDrain } from "./gateway-drain.js";
import { withoutReplayed } from "./push-overlap.js";
import { CLOSE_GRACE_MS, Session, sessionOf, type SessionContext, type SessionHost, type Transport } from "./session.js";
import { WriteScheduler } from "./socket-writer.js";
import { createWsListener, type WsAcceptor } from "./ws-listener.js";
import { WsSession, wsSessionOf } from "./ws-session.js";
import { createRedisClient, type RedisEndpoint } from "../redis/client-factory.js";
import { ResumeStore, type LoggedPush, type LostSession, type Membership, type ResumeOutcome, type SeenPubs } from "./resume-store.js";
import { OnlineTable, type PendingPushes } from "../module/online-table.js";
import { Adoption, pendingFrames, type AdoptionHost } from "./adoption.js";
import { listenOnce, listenWhenFree, requestPortRelease, serveReclaimPorts, serveReleasePorts } from "./port-handover.js";

/** How to start a gateway. */
export interface GatewayOptions {
  /** Gateway id, unique in the cluster and a subject token, e.g. "gw-1". */
  id: string;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** TCP port; 0 picks a free one (see `address()`). */
  port: number;
  /**
   * WebSocket port (and the gate, see README "The gate and redirects"); 0 picks a free one (see
   * `wsAddress()`); absent: no WebSocket. Serves wss/https when `tls` is set.
   */
  wsPort?: number;
  settings: GatewaySettings;
  /** NATS to connect to; the gateway owns that connection and drains it when it stops. */
  nats: NatsSettings;
  /** Version announced through the NATS services API; default "0.0.0". */
  version?: string;
  /** Default: createLogger("gateway", id). */
  logger?: Logger;
  /** Default: loadProto() of the project's proto/ folder. */
  proto?: ProtoRegistry;
  /** Register with the NATS services API (`ctl status`); default true. */
  announce?: boolean;
  /**
   * Modules that opted out of per-session ordering (`modules.<name>.ordered: false`, see
   * `unorderedModules(config)`). Requests of one session to any other module are forwarded one
   * at a time, in the order sent. Default: none.
   */
  unorderedModules?: readonly string[];
  /** Serve clients over TLS with this certificate and key (PEM files); default plain TCP. */
  tls?: GatewayTls;
  /** Prometheus metrics, answered to the master's gather (config `telemetry.metrics`); default true. */
  metrics?: boolean;
  /** Export a span per forwarded request to this OTLP/HTTP JSON URL (config `telemetry.otlpTracesUrl`); default "" (off). */
  otlpTracesUrl?: string;
  /**
   * Redis for the pushes of sessions whose connection dropped (settings.resume); without it,
   * or with resume.windowMs 0, a dropped session ends at once and resume replays nothing.
   */
  redis?: RedisEndpoint;
  /**
   * Replaces gateway `takePortsFrom` on the same ports (`ctl rollout gateway`): asks it to close
   * its listeners, then binds them, retrying every few ms while they are taken (up to
   * `portTimeoutMs`, default 30 s). Default: bind at once, failing when a port is taken.
   */
  takePortsFrom?: string;
  portTimeoutMs?: number;
}

/** A running gateway. */
export interface Gateway extends AsyncDisposable {
  readonly id: string;
  readonly state: LifecycleState;
  /** Client sessions held. */
  readonly sessionCount: number;
  /** Where the gateway listens (the actual port when started with port 0). */
  address(): { host: string; port: number };
  /** Where the gateway serves WebSocket and the gate, or null without `wsPort`. */
  wsAddress(): { host: string; port: number } | null;
  /** Live figures, as announced to `ctl status`. */
  load(): InstanceLoad;
  /**
   * Graceful shutdown: refuse new connections (KICK UNAVAILABLE with a redirect to another
   * gateway when one is known), read nothing more from the clients, answer every request
   * already read (up to requestTimeoutMs), then KICK MOVED each session to another gateway and,
   * with `handover` (default), keep the bound ones away (their pushes stored) until a resume
   * there takes each over or handoverTimeoutMs passes; close the listeners, drain NATS. Without
   * another gateway the sessions get KICK UNAVAILABLE. Returns the same promise on every call
   * (and the one `stop()` returned, if called first).
   */
  drain(handover?: boolean): Promise<void>;
  /** Like drain() without waiting for in-flight replies. Same promise as drain(). */
  stop(): Promise<void>;
  /** Resolves when stopped: null, or the error that stopped the gateway. Never rejects. */
  readonly stopped: Promise<Error | null>;
}

const TEXT_REFUSED = "text messages are not accepted: send each wire.Packet as one binary message";
const NO_GATEWAY = "no gateway is ready: retry in a few seconds";
/** The message of the KICK MOVED a draining gateway sends its sessions. */
const MOVED_REASON = "gateway replaced: resume on the redirect";
/** How long a draining gateway that hands its sessions over looks for a ready gateway to send them to. */
const REDIRECT_WAIT_MS = 5_000;
/** How long a session prepared for a resume (Bind.prepare) waits for its bind. */
const PREPARE_TIMEOUT_MS = 10_000;

/**
 * Starts a gateway: connects to NATS, subscribes to its command subject, announces itself and
 * listens for clients. Resolves once it is ready.
 */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  if (!isSubjectToken(options.id)) throw new Error(`gateway id ${JSON.stringify(options.id)} must be a subject token (letters, digits, '_', '-')`);
  const log = options.logger ?? createLogger("gateway", options.id);
  const proto = options.proto ?? loadProto();
  const nc = await connectBus(options.nats, `switchyard gateway ${options.id}`, (m) => log.warn(m));
  const gw = new GatewayImpl(options, nc, proto, log);
  try {
    await gw.start();
  } catch (err) {
    await gw.stop();
    throw err;
  }
  return gw;
}

/** The gateway; internal, users see `Gateway`. */
class GatewayImpl implements Gateway, SessionHost, CommandTarget, WsAcceptor, AdmissionState, AdoptionHost {
  readonly id: string;
  readonly startedAt = Date.now();
  readonly channels: ChannelHub;
  readonly stopped: Promise<Error | null>;
  state: LifecycleState = LifecycleState.starting;
  private readonly options: GatewayOptions;
  private readonly settings: GatewaySettings;
  private readonly nc: NatsConnection;
  private readonly log: Logger;
  private readonly debug: boolean;
  private readonly mux: ReplyMux;
  private readonly forwarder: Forwarder;
  private readonly commands: CommandHandler;
  private readonly processMetrics: ProcessMetrics | null;
  private readonly metrics: GatewayMetrics | null;
  private readonly spans: SpanSink | null;
  // Sids start at a random point: a gateway restarted after kill -9 (same id, no "session
  // closed" sent) must not hand a new client the sid that a stale online-table entry still
  // names, or a later login would evict the wrong player.
  private readonly sessions = new SessionTable<Session>(1 + randomInt(0x7fffffff));
  private readonly scheduler = new WriteScheduler();
  private readonly sessionCtx: SessionContext;
  /** Listeners every client socket shares (`this` is the socket). */
  private readonly onSocketError: (this: Socket, err: Error) => void;
  private readonly onSocketClose: (this: Socket) => void;
  private readonly server: Server;
  private readonly wsServer: HttpServer | null;
  /** The ready gateways and their load: the gate's answer and the redirect of refused connections. */
  private readonly directory: GatewayDirectory;
  /** Listeners every WebSocket shares (`this` is the WebSocket). */
  private readonly onWsMessage: (this: WebSocket, data: Buffer, isBinary: boolean) => void;
  private readonly onWsError: (this: WebSocket, err: Error) => void;
  private readonly onWsClose: (this: WebSocket, code: number) => void;
  private readonly closedCodec: MessageCodec<cluster.SessionClosed>;
  private readonly heartbeatFrame = encodeFrame(PacketKind.HEARTBEAT, 0, "", null);
  private readonly rateMessage: string;
  private readonly admission: Admission;
  private cmdSub: Subscription | null = null;
  private bindSub: Subscription | null = null;
  private releaseSub: Subscription | null = null;
  private reclaimSub: Subscription | null = null;
  /** The ports closed for a replacement (see releasePorts), bound again by reclaimPorts. */
  private released: { tcp: number; ws: number | null } | null = null;
  private service: Service | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private shutdown: Promise<void> | null = null;
  private resolveStopped!: (err: Error | null) => void;
  private listening = false;
  private kicked = 0;
  /** Null when resume is off (no Redis, or windowMs 0). */
  private readonly resumeStore: ResumeStore | null;
  /** The online table and the adoption of dead gateways' sessions: null when resume is off. */
  private readonly online: OnlineTable | null;
  private readonly adoption: Adoption | null;
  private readonly pendingCodec: MessageCodec<cluster.PendingPush>;
  /** Away sessions adopted from a dead gateway (announced closed already; see close()). */
  private readonly adopted = new Set<Session>();
  private adoptSub: Subscription | null = null;

  constructor(options: GatewayOptions, nc: NatsConnection, proto: ProtoRegistry, log: Logger) {
    this.id = options.id;
    this.options = options;
    this.settings = options.settings;
    this.nc = nc;
    this.log = log;
    this.debug = log.isLevelEnabled("debug");
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
    // Batched: the requests read from every client socket in one turn go to NATS in one write.
    this.mux = new ReplyMux(nc, options.id, { batch: true });
    this.processMetrics = options.metrics === false ? null : new ProcessMetrics("gateway", options.id);
    this.metrics =
      this.processMetrics === null
        ? null
        : new GatewayMetrics(this.processMetrics, (route) => proto.route(route) !== null, {
            connections: () => this.countByTransport(false),
            boundSessions: () => this.countByTransport(true),
            inflight: () => this.mux.pending,
          });
    this.spans = createSpanSink(options.otlpTracesUrl ?? "", "gateway", options.id, log);
    this.forwarder = new Forwarder(this.mux, options.id, { ...this.settings, unorderedModules: options.unorderedModules ?? [] }, log, this.metrics, this.spans);
    this.channels = new ChannelHub(nc, proto.message<cluster.ChannelMessage>("cluster.ChannelMessage"), log);
    this.commands = new CommandHandler(
      this,
      {
        command: proto.message<cluster.GatewayCommand>("cluster.GatewayCommand"),
        ack: proto.message<cluster.CommandAck>("cluster.CommandAck"),
      },
      log,
    );
    const resume = this.settings.resume;
    const redis =
      options.redis === undefined || resume.windowMs === 0
        ? null
        : createRedisClient(options.redis, { connectionName: `gateway ${options.id}`, onError: (err) => log.warn({ err: err.message }, "Redis connection problem") });
    this.resumeStore = redis === null ? null : new ResumeStore(redis, resume, proto.message<cluster.ChannelMessage>("cluster.ChannelMessage"), log);
    this.online = redis === null ? null : new OnlineTable(redis);
    this.pendingCodec = proto.message<cluster.PendingPush>("cluster.PendingPush");
    this.adoption =
      this.online === null || this.resumeStore === null
        ? null
        : new Adoption(this, this.online, this.resumeStore, { request: proto.message("cluster.AdoptRequest"), reply: proto.message("cluster.AdoptReply") }, log);
    const limits = { ...this.settings, recentPushes: this.resumeStore === null ? 0 : resume.recentPushes };
    this.sessionCtx = { gatewayId: options.id, limits, scheduler: this.scheduler, host: this };
    const gw = this;
    this.onSocketError = function (this: Socket, err: Error): void {
      const session = sessionOf(this);
      if (session !== undefined) gw.connectionLost(session, `socket error: ${err.message}`, true);
    };
    this.onSocketClose = function (this: Socket): void {
      const session = sessionOf(this);
      if (session !== undefined) gw.connectionLost(session, "client closed the connection", false);
    };
    this.closedCodec = proto.message<cluster.SessionClosed>("cluster.SessionClosed");
    const rl = this.settings.rateLimit;
    this.rateMessage = `more than ${rl.perSecond} frames per second (burst ${rl.burst}) on this connection: slow down`;
    this.server = options.tls ? this.createTlsListener(options.tls) : createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.wsServer = options.wsPort === undefined ? null : createWsListener(this.settings, options.tls, this, log);
    this.directory = new GatewayDirectory(nc, { onRefreshError: (err) => log.debug({ err: err.message }, "gateway directory refresh failed") });
    this.admission = new Admission(options.id, this.settings, this.directory, log);
    this.onWsMessage = function (this: WebSocket, data: Buffer, isBinary: boolean): void {
      const session = wsSessionOf(this);
      if (session === undefined) return;
      if (isBinary) session.receiveMessage(data, Date.now());
      else gw.kick(session, ErrorCode.PROTOCOL, TEXT_REFUSED);
    };
    this.onWsError = function (this: WebSocket, err: Error): void {
      const session = wsSessionOf(this);
      if (session !== undefined) gw.connectionLost(session, `WebSocket error: ${err.message}`, true);
    };
    this.onWsClose = function (this: WebSocket, code: number): void {
      const session = wsSessionOf(this);
      // 1000 normal, 1001 going away: the client meant to leave; anything else (1006) was a drop
      if (session !== undefined) gw.connectionLost(session, "client closed the connection", code !== 1000 && code !== 1001);
    };
  }

  /**
   * A TLS listener: sessions start once the handshake is done. A handshake that does not finish
   * within the idle timeout (at most 10 s) is dropped, so half-open handshakes cannot pile up.
   */
  private createTlsListener(tls: GatewayTls): Server {
    const server = createTlsServer(
      {
        cert: readFileSync(tls.certFile),
        key: readFileSync(tls.keyFile),
        noDelay: true,
        handshakeTimeout: Math.min(this.settings.idleTimeoutMs, 10_000),
      },
      (socket) => this.accept(socket),
    );
    server.on("tlsClientError", (err, socket) => {
      if (this.debug) this.log.debug({ err: err.message, remote: socket.remoteAddress }, "TLS handshake failed");
      socket.destroy();
    });
    return server;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  address(): { host: string; port: number } {
    const a = this.server.address() as AddressInfo | null;
    return { host: a?.address ?? this.options.host ?? "127.0.0.1", port: a?.port ?? 0 };
  }

  wsAddress(): { host: string; port: number } | null {
    if (this.wsServer === null) return null;
    const a = this.wsServer.address() as AddressInfo | null;
    return { host: a?.address ?? this.options.host ?? "127.0.0.1", port: a?.port ?? 0 };
  }

  load(): InstanceLoad {
    const s = this.forwarder.stats;
    return {
      state: this.state,
      served: s.served,
      errors: s.errors,
      inflight: this.mux.pending,
      sessions: this.sessions.size,
      extra: { notified: s.notified, channels: this.channels.size, kicked: this.kicked, commands: this.commands.applied },
    };
  }

  /** Sessions (only bound ones: `bound`) per transport, read at scrape time; "tcp" is always there. */
  private countByTransport(bound: boolean): Map<string, number> {
    const out = new Map<string, number>([["tcp", 0]]);
    if (this.wsServer !== null) out.set("ws", 0);
    for (const s of this.sessions.values()) if (!bound || s.uid !== null) out.set(s.transport, (out.get(s.transport) ?? 0) + 1);
    return out;
  }

  /** Subscribes, announces, listens; then the state is ready. */
  async start(): Promise<void> {
    if (this.processMetrics !== null) {
      serveMetrics(this.nc, this.processMetrics.registry, "gateway", this.id);
      this.processMetrics.watchNats(this.nc);
    }
    this.cmdSub = this.nc.subscribe(gatewayCommandSubject(this.id), { callback: (_err, msg) => this.commands.handle(msg) });
    this.bindSub = this.nc.subscribe(gatewayBindSubject(this.id), { callback: (_err, msg) => this.commands.handle(msg, "bind") });
    const adoption = this.adoption;
    if (adoption !== null) this.adoptSub = this.nc.subscribe(SystemSubject.gatewayAdopt, { queue: GATEWAY_ADOPT_QUEUE, callback: (_err, msg) => adoption.handle(msg) });
    this.releaseSub = serveReleasePorts(this.nc, this.id, () => this.releasePorts());
    this.reclaimSub = serveReclaimPorts(this.nc, this.id, () => this.reclaimPorts());
    // Listening before announcing: the announcement carries the ports (0 picks free ones).
    // Connections arriving meanwhile are served (NATS and the command subjects are up).
    await this.listenAll();
    if (this.options.announce !== false) {
      this.service = await announceInstance(
        this.nc,
        { ...makeIdentity("gateway", "gateway", this.id, this.options.version ?? "0.0.0"), clients: this.clientEndpoints() },
        () => this.load(),
        () => void this.drain(),
      );
    }
    await this.nc.flush();
    this.directory.start();
    const shortest = Math.min(this.settings.idleTimeoutMs, this.settings.firstPacketTimeoutMs, this.settings.frameTimeoutMs);
    this.idleTimer = setInterval(() => this.sweepIdle(), Math.min(Math.max(Math.floor(shortest / 4), 20), 5_000));
    this.idleTimer.unref();
    void this.nc.closed().then((err) => {
      if (this.state === LifecycleState.ready) {
        this.log.error({ err }, "the NATS connection closed: the gateway stops; restart it once NATS is reachable");
        void this.stop();
      }
    });
    this.state = LifecycleState.ready;
    const addr = this.address();
    const ws = this.clientEndpoints().ws;
    this.log.info({ host: addr.host, port: addr.port, address: `${addr.host}:${addr.port}`, ws: ws ?? null, tls: this.options.tls !== undefined }, "gateway listening");
  }

  /** Binds the TCP and WebSocket ports: at once, or (replacing a gateway) once it released them. */
  private async listenAll(): Promise<void> {
    const host = this.listenHost();
    const from = this.options.takePortsFrom;
    const bind =
      from === undefined
        ? (server: Server | HttpServer, port: number) => listenOnce(server, port, host)
        : (server: Server | HttpServer, port: number) => listenWhenFree(server, port, host, this.portTimeoutMs());
    const asked = from === undefined ? null : requestPortRelease(this.nc, from);
    const began = Date.now();
    await bind(this.server, this.options.port);
    this.listening = true;
    this.server.on("error", (err) => this.log.error({ err }, "listener error"));
    if (this.wsServer !== null) {
      await bind(this.wsServer, this.options.wsPort ?? 0);
      this.wsServer.on("error", (err) => this.log.error({ err }, "WebSocket listener error"));
    }
    if (asked !== null) this.log.info({ from, released: await asked, waitedMs: Date.now() - began }, "ports taken over");
  }

  /**
   * A replacement takes this gateway's ports: the listeners close (the ports are free at once),
   * the sessions held stay until the drain moves them.
   */
  private releasePorts(): void {
    if (this.listening) {
      this.released = { tcp: this.address().port, ws: this.wsServer?.listening ? this.wsAddress()!.port : null };
      this.server.close();
    }
    this.listening = false;
    if (this.wsServer?.listening) this.wsServer.close();
    this.log.info({ sessions: this.sessions.size }, "listeners closed: a replacement takes the ports");
  }

  /**
   * The replacement that took the ports failed (the rollout stopped): this gateway, still
   * serving its sessions, listens on them again, waiting while the failed one still holds them.
   */
  private async reclaimPorts(): Promise<void> {
    const ports = this.released;
    if (ports === null || this.listening) return;
    if (this.state !== LifecycleState.ready) throw new Error(`${this.id} is ${this.state}: it does not take its ports back`);
    await listenWhenFree(this.server, ports.tcp, this.listenHost(), this.portTimeoutMs());
    this.listening = true;
    if (this.wsServer !== null && ports.ws !== null) await listenWhenFree(this.wsServer, ports.ws, this.listenHost(), this.portTimeoutMs());
    this.released = null;
    this.log.info({ port: ports.tcp, wsPort: ports.ws }, "listening again: the replacement that took the ports failed");
  }

  private listenHost(): string {
    return this.options.host ?? "127.0.0.1";
  }

  /** How long a bind waits while its port is taken (by the gateway being replaced, or a failed replacement). */
  private portTimeoutMs(): number {
    return this.options.portTimeoutMs ?? 30_000;
  }

  /** The addresses clients use, as announced: the configured host (else the bound one) and the ports. */
  private clientEndpoints(): ClientEndpoints {
    const host = this.options.host ?? this.address().host;
    const urlHost = host.includes(":") ? `[${host}]` : host;
    const tls = this.options.tls !== undefined;
    const ws = this.wsAddress();
    return {
      tcp: `${urlHost}:${this.address().port}`,
      ...(ws !== null ? { ws: `${tls ? "wss" : "ws"}://${urlHost}:${ws.port}${this.settings.wsPath}` } : {}),
      tls,
      maxConnections: this.settings.maxConnections,
    };
  }

  // ---- connections ---------------------------------------------------------------------------

  /** AdmissionState: new connections are refused while draining or stopped. */
  get closing(): boolean {
    return this.state === LifecycleState.draining || this.state === LifecycleState.stopped;
  }

  private accept(socket: Socket): void {
    const address = socket.remoteAddress ?? "";
    const refusal = this.admission.admit(this, address, "tcp");
    if (refusal !== null) {
      this.metrics?.refused(refusal.metric);
      refuseTcp(socket, refusal);
      return;
    }
    socket.setNoDelay(true);
    const session = new Session(this.sessions.allocateSid(), socket, this.sessionCtx, Date.now(), address);
    this.sessions.add(session);
    this.metrics?.connectionOpened("tcp");
    // Shared listeners: the session is found from the socket, no closure per connection.
    socket.on("data", onSocketData);
    socket.on("error", this.onSocketError);
    socket.on("close", this.onSocketClose);
    if (this.debug) this.log.debug({ sid: session.sid, remote: session.remote }, "session opened");
  }

  /** WsAcceptor: a WebSocket upgrade completed on the WebSocket path. */
  acceptWebSocket(ws: WebSocket, socket: Socket): void {
    const address = socket.remoteAddress ?? "";
    const refusal = this.admission.admit(this, address, "ws");
    if (refusal !== null) {
      this.metrics?.refused(refusal.metric);
      refuseWebSocket(ws, socket, refusal);
      return;
    }
    socket.setNoDelay(true);
    const session = new WsSession(this.sessions.allocateSid(), socket, ws, this.sessionCtx, Date.now(), address);
    this.sessions.add(session);
    this.metrics?.connectionOpened("ws");
    ws.on("message", this.onWsMessage);
    ws.on("error", this.onWsError);
    ws.on("close", this.onWsClose);
    if (this.debug) this.log.debug({ sid: session.sid, remote: session.remote, transport: "ws" }, "session opened");
  }

  /** WsAcceptor: the gate's answer, the least-loaded ready gateway (this one before the first refresh). */
  gateAnswer(): { status: number; body: unknown } {
    // the directory's view is up to one refresh old: a draining gateway never names itself
    const best = this.directory.leastLoaded(this.closing ? this.id : undefined) ?? this.selfChoice();
    if (best === null) return { status: 503, body: { code: "UNAVAILABLE", message: NO_GATEWAY } };
    return { status: 200, body: best };
  }

  /** This gateway as a gate answer, when it is ready and not full. */
  private selfChoice(): GatewayChoice | null {
    if (this.state !== LifecycleState.ready || this.sessions.size >= this.settings.maxConnections) return null;
    const c = this.clientEndpoints();
    const a = this.address();
    return { id: this.id, tcp: { host: this.options.host ?? a.host, port: a.port, tls: c.tls }, ws: c.ws ?? null };
  }

  onFrame(session: Session, frame: Buffer): void {
    // an away session (moved, its socket paused) answers nothing more
    if (session.closed || session.away !== null) return;
    session.packetsRead = (session.packetsRead + 1) >>> 0;
    const p = decodePacket(frame);
    if (p === null) {
      this.kick(session, ErrorCode.PROTOCOL, `malformed packet: a frame of ${frame.length} bytes does not hold a wire.Packet`);
      return;
    }
    const kind = p.kind;
    if (kind !== PacketKind.REQUEST && kind !== PacketKind.NOTIFY && kind !== PacketKind.HEARTBEAT) {
      this.kick(session, ErrorCode.PROTOCOL, `packet kind ${kind} may not be sent by a client: send REQUEST (1), NOTIFY (3) or HEARTBEAT (5)`);
      return;
    }
    const verdict = session.rate(session.lastActive);
    if (verdict !== RateVerdict.allowed) {
      if (verdict === RateVerdict.abusive) {
        this.kick(session, ErrorCode.RATE_LIMITED, `${this.rateMessage}; closed after too many refused frames`);
      } else if (kind !== PacketKind.HEARTBEAT) {
        // a NOTIFY has id 0: its refusal is the ERROR with id 0 the protocol promises
        this.forwarder.refuse(session, kind === PacketKind.REQUEST ? p.id : 0, RefusalReason.rateLimited, ErrorCode.RATE_LIMITED, this.rateMessage);
      }
      return;
    }
    if (kind === PacketKind.REQUEST) {
      if (p.id === 0) this.forwarder.refuse(session, 0, RefusalReason.badRequest, ErrorCode.BAD_REQUEST, "a REQUEST needs an id > 0 (unique among your requests in flight)");
      else this.forwarder.request(session, p);
    } else if (kind === PacketKind.NOTIFY) {
      this.forwarder.notify(session, p);
    } else {
      session.write(this.heartbeatFrame);
    }
  }

  onFramingError(session: Session, err: FramingError): void {
    const reason =
      err.reason === "oversized"
        ? `frame of ${err.declaredBytes} bytes exceeds the limit of ${this.settings.maxFrameBytes}`
        : "empty frame (length 0): every frame must hold a wire.Packet";
    this.kick(session, ErrorCode.PROTOCOL, reason);
  }

  onSlowReader(session: Session, pendingBytes: number): void {
    this.log.warn({ sid: session.sid, uid: session.uid, pendingBytes, limit: this.settings.maxPendingOutputBytes }, "slow reader: connection closed");
    this.close(session, `slow reader: ${pendingBytes} bytes of output pending (limit ${this.settings.maxPendingOutputBytes})`, true);
  }

  private sweepIdle(): void {
    const limit = this.settings.idleTimeoutMs;
    const first = this.settings.firstPacketTimeoutMs;
    const frame = this.settings.frameTimeoutMs;
    const now = Date.now();
    for (const s of this.sessions.values()) {
      if (s.away !== null) {
        if (now > s.away.until) this.close(s, "no resume within the reconnect window");
        continue;
      }
      if (!s.greeted && now - s.connectedAt > first) {
        // connected but never sent a whole frame (a port scan, a stuck handshake, a slowloris)
        this.kick(s, ErrorCode.TIMEOUT, `no complete packet within ${first} ms of connecting: send a request or a HEARTBEAT first`);
      } else if (s.frameStartedAt !== 0 && now - s.frameStartedAt > frame) {
        // a frame trickled in (each byte resets the idle clock): bound the frame, not the silence
        this.kick(s, ErrorCode.TIMEOUT, `slow frame: a started frame did not complete within ${frame} ms; send each frame whole`);
      } else if (now - s.lastActive > limit) {
        const reason = `idle: nothing received for ${limit} ms; send a HEARTBEAT at least every ${Math.floor(limit / 2)} ms`;
        // a silent bound client most likely lost its network: kept for a resume, not kicked
        if (s.uid === null || !this.detach(s)) this.kick(s, ErrorCode.TIMEOUT, reason);
      }
    }
  }

  // ---- CommandTarget -------------------------------------------------------------------------

  session(sid: number): Session | undefined {
    return this.sessions.get(sid);
  }

  sessionsOfUser(uid: string): Session[] {
    return this.sessions.byUser(uid);
  }

  bind(session: Session, uid: string | null): void {
    const old = session.uid;
    if (old !== null && old !== uid && session.tied) this.resumeStore?.untie(old);
    this.sessions.rebind(session, uid, setUid);
    if (this.debug) this.log.debug({ sid: session.sid, uid }, "session bound");
    // For the modules, the old uid's session ended (login frees its online entry, game starts
    // the seat's reconnect window), though the connection lives on with another identity.
    if (old !== null && old !== uid) this.announceClosed(session.sid, old, uid === null ? "logged out" : "logged in as another user");
  }

  /** Publishes sys.session.closed for a session of this gateway (or, adopting, of a dead one). */
  announceClosed(sid: number, uid: string, reason: string, gatewayId = this.id, successor = ""): void {
    try {
      this.nc.publish(SystemSubject.sessionClosed, this.closedCodec.encode({ gatewayId, sid, uid, reason, successor }));
    } catch (err) {
      this.log.warn({ err, sid }, "cannot publish sys.session.closed");
    }
  }

  kick(session: Session, code: number, reason: string, redirect = ""): void {
    if (session.closed) return;
    if (session.away !== null) {
      this.close(session, reason);
      return;
    }
    this.kicked++;
    this.metrics?.kicked(code);
    session.write(encodeFrame(PacketKind.KICK, 0, "", null, code, reason, redirect));
    this.close(session, reason, false, code);
  }

  /**
   * Ends a session once: unbinds it, leaves its channels, announces sys.session.closed, flushes
   * what is queued and ends the socket (destroyed at once for a slow reader, or after a grace).
   */
  private close(session: Session, reason: string, destroy = false, kickCode = 0): void {
    if (session.closed) return;
    session.closed = true;
    const wasAway = session.away !== null;
    session.away = null;
    this.sessions.remove(session);
    const adopted = this.adopted.delete(session);
    if (!adopted) this.admission.release(session.address);
    this.channels.leaveAll(session);
    const uid = session.uid;
    if (adopted) this.releaseAdopted(session);
    else this.announceClosed(session.sid, uid ?? "", reason);
    if (!wasAway && session.tied && uid !== null) this.resumeStore?.untie(uid);
    if (this.debug) this.log.debug({ sid: session.sid, uid, reason }, "session closed");
    if (wasAway) {
      // Ended without a resume taking it over (shutdown, a fresh login): pushes to the uid
      // from now on reach nobody, so a later resume must not look gap-free.
      if (uid !== null && !session.handedOver) this.resumeStore?.abandon(uid);
      return;
    }
    if (destroy) {
      session.socket.destroy();
      return;
    }
    session.stopWriting();
    session.end(kickCode, reason);
  }

  /**
   * A bound session's connection dropped: the session stays (in the online table, its channels
   * and pins) for the reconnect window, its pushes stored for a resume on any gateway.
   */
  private detach(session: Session, moved = false): boolean {
    const store = this.resumeStore;
    const uid = session.uid;
    if (store === null || uid === null || session.closed || (this.state !== LifecycleState.ready && !moved)) return false;
    const recent = session.recentPushes();
    const snapshot = { seq: session.seq, channels: [...(session.channels ?? [])], pins: session.pinList() };
    const now = Date.now();
    session.away = store.detach(uid, snapshot, recent.frames, recent.seqs, now);
    // moved: the KICK must reach the client (a drop destroys at once); kept no longer than the handover
    if (moved) session.away.until = Math.min(session.away.until, now + this.settings.handoverTimeoutMs);
    session.stopWriting();
    if (moved) session.end(ErrorCode.MOVED, MOVED_REASON);
    else session.socket.destroy();
    return true;
  }

  /** The socket of a session failed or closed; an away session has already left its socket. */
  /**
   * The socket of a session failed or closed. A drop (reset, error, abnormal WebSocket close)
   * of a bound session keeps it for a resume; a clean close ends it. An away session has
   * already left its socket.
   */
  private connectionLost(session: Session, reason: string, dropped: boolean): void {
    if (session.away !== null) return;
    if (dropped && this.detach(session)) {
      if (this.debug) this.log.debug({ sid: session.sid, uid: session.uid, reason }, "session away: kept for a resume");
      return;
    }
    this.close(session, reason);
  }

  handOver(session: Session): boolean {
    return this.detach(session);
  }

  keepMembership(session: Session): void {
    const store = this.resumeStore;
    if (store === null || session.uid === null) return;
    if (session.away === null) session.tied = true;
    // Taken out of a channel after its gateway died: chat leaves a dead gateway's sessions' rooms
    // when the adoption announces them closed. The client must hear that it is no longer there.
    if (session.away !== null && session.leftWhileAway && this.adopted.has(session)) session.away.overflow = true;
    store.keepMembership(session.uid, { channels: [...(session.channels ?? [])], pins: session.pinList() }, session.away);
  }

  keepAway(session: Session, seq: number, frame: Buffer, pushId: string): void {
    if (session.uid !== null && session.away !== null) this.resumeStore?.keep(session.uid, session.away, seq, frame, pushId);
  }

  /**
   * Bind.prepare: a resume of `uid` is about to end the uid's older session. This one joins the
   * channels that session keeps and holds every push until the resume's replay (see
   * push-overlap.ts), so what is published meanwhile reaches one of the two. Undone when no
   * bind of `uid` follows within PREPARE_TIMEOUT_MS.
   */
  async prepare(session: Session, uid: string): Promise<void> {
    session.prepared = uid;
    session.holding ??= [];
    const channels = await (this.resumeStore?.channelsOf(uid) ?? Promise.resolve([])).catch((err: Error) => {
      this.log.warn({ err: err.message, uid }, "resume prepare: cannot read the away session's channels");
      return [];
    });
    if (session.closed || session.prepared !== uid) return;
    for (const channel of channels) this.channels.join(session, channel);
    setTimeout(() => {
      if (session.closed || session.prepared !== uid || session.uid === uid) return;
      session.prepared = null;
      session.holding = null;
      this.channels.leaveAll(session);
    }, PREPARE_TIMEOUT_MS).unref();
  }

  /** Resolves once what this gateway stored for away sessions reached Redis. */
  resumeWritesDone(): Promise<void> {
    return this.resumeStore?.flushed() ?? Promise.resolve();
  }

  /**
   * Resumes the uid on `session` (just bound): restores channels and pins, writes the pushes
   * missed after `lastSeq`, then lets new pushes follow, continuing the sequence.
   */
  async resume(session: Session, lastSeq: number, lostGateway: string | null = null, seen: SeenPubs = null): Promise<ResumeOutcome> {
    const uid = session.uid;
    if (uid === null) throw new Error("resume of a session that is not bound");
    if (this.resumeStore === null) return { code: ErrorCode.RESYNC, frames: [], ids: new Set(), seq: lastSeq, channels: [], pins: [] };
    session.prepared = null;
    session.holding ??= [];
    let replayed: ReadonlySet<string> = new Set();
    try {
      // The previous gateway is dead: the point pushes sent to it since then wait in Redis.
      const lost = lostGateway !== null && this.online !== null ? pendingFrames(await this.online.takePending(uid), this.pendingCodec) : null;
      const outcome = await this.resumedAfterDeath(await this.resumeStore.take(uid, lastSeq, lost, seen), lostGateway);
      if (session.closed || session.uid !== uid) return outcome;
      for (const channel of outcome.channels) this.channels.join(session, channel);
      for (const [module, instance] of outcome.pins) session.setPin(module, instance);
      // the channels joined while preparing count too: the membership is written once, for the uid
      session.membershipChanged();
      for (const frame of outcome.frames) session.write(frame);
      session.seq = outcome.seq;
      replayed = outcome.ids;
      return outcome;
    } finally {
      const held = withoutReplayed(session.holding ?? [], replayed);
      session.holding = null;
      for (const h of held) session.push(h.frame, h.id);
    }
  }

  /**
   * A resume of a uid whose gateway died (adopted from it, or `lostGateway`): RESYNC when pushes
   * sent to that gateway's sessions by session ref were lost (a module heard "no responders"),
   * or may have been: some went to it after it was last seen alive (or, not adopted, within the
   * window), when nats-server may still have held its dead connection.
   */
  private async resumedAfterDeath(outcome: ResumeOutcome, lostGateway: string | null): Promise<ResumeOutcome> {
    const dead = lostGateway ?? (outcome.adoptedFrom || null);
    const online = this.online;
    if (outcome.code !== ErrorCode.OK || dead === null || online === null) return outcome;
    const since = lostGateway === null && outcome.cutMs ? outcome.cutMs : Date.now() - this.settings.resume.windowMs;
    const [lost, blind] = await Promise.all([online.pushesLost(dead), online.pushedBySessionSince(dead, since)]);
    if (!lost && !blind) return outcome;
    return { ...outcome, code: ErrorCode.RESYNC, frames: [] };
  }

  // ---- AdoptionHost (sessions of a dead gateway, see adoption.ts) -----------------------------

  createAdopted(uid: string, m: Membership): Session {
    const session = new Session(this.sessions.allocateSid(), new Socket(), this.sessionCtx, Date.now(), "");
    this.sessions.add(session);
    this.sessions.rebind(session, uid, setUid);
    this.adopted.add(session);
    // Away from the start (no connection); pushes wait until the adoption settles.
    session.away = { until: Date.now() + this.settings.resume.windowMs, kept: 0, bytes: 0, overflow: false };
    session.holding = [];
    for (const channel of m.channels) this.channels.join(session, channel);
    for (const [module, instance] of m.pins) session.setPin(module, instance);
    return session;
  }

  subscribed(): Promise<void> {
    return this.nc.flush();
  }

  dropAdopted(session: Session): void {
    session.closed = true;
    session.away = null;
    this.adopted.delete(session);
    this.sessions.remove(session);
    this.channels.leaveAll(session);
  }

  settleAdopted(session: Session, deadGateway: string, cutMs: number, found: LostSession, m: Membership, logged: LoggedPush[] | null, incomplete: boolean, pending: PendingPushes): void {
    const uid = session.uid!;
    const adopted = this.resumeStore!.adopt(uid, found, m, logged, incomplete || pending.overflow, Date.now(), deadGateway, cutMs);
    session.away = adopted.away;
    session.seq = adopted.seq;
    const held = withoutReplayed(session.holding ?? [], new Set((logged ?? []).map((l) => l.id)));
    session.holding = null;
    for (const frame of pendingFrames(pending, this.pendingCodec).frames) session.push(frame);
    for (const h of held) session.push(h.frame, h.id);
  }

  /** An adopted session ended: it frees its online entry itself (its sys.session.closed was sent at the adoption). */
  private releaseAdopted(session: Session): void {
    const uid = session.uid;
    if (uid === null || session.handedOver || this.online === null) return;
    this.online.release(uid, { gatewayId: this.id, sid: session.sid }).catch((err: Error) => this.log.warn({ err: err.message, uid }, "cannot release an adopted session's online entry"));
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  /**
   * The graceful part of a drain (see README "Rolling out gateways"): reads nothing more from
   * the clients, answers every request already read, then sends each session away with KICK
   * MOVED naming a live gateway and keeps it away (its pushes stored) until a resume elsewhere
   * takes it over or handoverTimeoutMs passes.
   */
  private async moveSessions(handover: boolean): Promise<void> {
    const drain = new GatewayDrain(this.sessions, this.settings, this.log);
    drain.stopReading();
    // The redirect must name the replacement, which may have become ready since the last
    // refresh. Handing sessions over, a gateway waits (bounded) until it sees another one.
    const refreshed = handover && this.sessions.size > 0 ? this.directory.awaitOther(this.id, REDIRECT_WAIT_MS) : this.directory.refresh().then(() => true);
    await drain.answered(() => this.mux.pending);
    this.forwarder.draining = true;
    if (!(await refreshed) && handover) this.log.warn({ waitedMs: REDIRECT_WAIT_MS }, "no other ready gateway seen: sessions get KICK UNAVAILABLE instead of MOVED");
    this.scheduler.flushAll();
    for (const s of this.sessions.all()) {
      // already away (its connection dropped before): it waits for its resume like the moved ones
      if (s.away !== null) continue;
      const redirect = this.admission.redirectFor(s.transport);
      if (redirect === "") this.kick(s, ErrorCode.UNAVAILABLE, SHUTTING_DOWN, redirect);
      else this.moveAway(s, redirect);
    }
    if (handover) await drain.handedOver();
  }

  /** KICK MOVED to `redirect`; a bound session stays away for its resume there, others end. */
  private moveAway(session: Session, redirect: string): void {
    if (session.closed) return;
    this.kicked++;
    this.metrics?.kicked(ErrorCode.MOVED);
    // the KICK's id: how many packets were read, so the client resends the NOTIFYs after them
    session.write(encodeFrame(PacketKind.KICK, session.packetsRead, "", null, ErrorCode.MOVED, MOVED_REASON, redirect));
    if (session.uid === null || !this.detach(session, true)) this.close(session, MOVED_REASON, false, ErrorCode.MOVED);
  }

  drain(handover = true): Promise<void> {
    this.shutdown ??= this.runShutdown(true, handover);
    return this.shutdown;
  }

  stop(): Promise<void> {
    this.shutdown ??= this.runShutdown(false);
    return this.shutdown;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.drain();
  }

  private async runShutdown(graceful: boolean, handover = false): Promise<void> {
    let failure: Error | null = null;
    this.state = LifecycleState.draining;
    this.log.info({ sessions: this.sessions.size, inflight: this.mux.pending, graceful }, "gateway draining");
    // The listeners stay open while in-flight replies are awaited: a connection arriving now gets
    // KICK UNAVAILABLE with a redirect to another gateway rather than a refused connect.
    if (graceful) await this.moveSessions(handover);
    else this.forwarder.draining = true;
    const serverClosed = Promise.all([closeListener(this.listening ? this.server : null), closeListener(this.wsServer?.listening ? this.wsServer : null)]);
    this.scheduler.flushAll();
    for (const s of this.sessions.all()) this.kick(s, ErrorCode.UNAVAILABLE, SHUTTING_DOWN, this.admission.redirectFor(s.transport));
    this.directory.stop();
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.cmdSub?.unsubscribe();
    this.bindSub?.unsubscribe();
    this.adoptSub?.unsubscribe();
    this.releaseSub?.unsubscribe();
    this.reclaimSub?.unsubscribe();
    this.channels.close();
    try {
      await this.service?.stop();
    } catch (err) {
      this.log.warn({ err }, "cannot stop the services API registration");
    }
    this.mux.close();
    await this.spans?.close();
    await this.resumeStore?.close();
    try {
      if (!this.nc.isClosed()) await this.nc.drain();
    } catch (err) {
      failure = err as Error;
      this.log.warn({ err }, "NATS drain failed");
    }
    await Promise.race([serverClosed, sleep(CLOSE_GRACE_MS + 500)]);
    this.state = LifecycleState.stopped;
    this.log.info({ served: this.forwarder.stats.served, errors: this.forwarder.stats.errors }, "gateway stopped");
    this.resolveStopped(failure);
  }
}

/** The `data` listener of every client socket. */
function onSocketData(this: Socket, chunk: Buffer): void {
  sessionOf(this)?.receive(chunk, Date.now());
}

function setUid(session: Session, uid: string | null): void {
  session.setUid(uid);
}

function closeListener(server: Server | HttpServer | null): Promise<void> {
  return server === null ? Promise.resolve() : new Promise<void>((resolve) => server.close(() => resolve()));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
