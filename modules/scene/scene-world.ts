import { SwitchyardError } from "../../src/protocol/errors.js";
import type { Pushes, scene } from "../../src/generated/proto.js";
import type { InstanceTimer, MessageInit, SessionRef } from "../../src/module/index.js";
import type { SceneRuntime } from "./context.js";
import { AoiGrid } from "./grid.js";
import { checkMove, clampToBounds, type MoveLimits } from "./movement.js";
import { positionsPerRecipient } from "./position-batch.js";
import { playerEntry, positionsBody, sceneIdField } from "./positions-codec.js";
import type { SceneSettings } from "./settings.js";

/** Disappear reasons (Disappear.reason). */
export const DisappearReason = { moved: "moved", left: "left", disconnected: "disconnected", lost: "lost" } as const;
export type DisappearReason = (typeof DisappearReason)[keyof typeof DisappearReason];

/** What a scene needs of its instance: pushes and timers. */
export type SceneHost = Pick<SceneRuntime, "push" | "pushEncoded" | "after">;

/** One player in a scene, on the scene's owner. */
interface ScenePlayer {
  readonly state: scene.PlayerState;
  /** The connection receiving this player's pushes; null while disconnected (reconnect window). */
  session: SessionRef | null;
  lastMoveAt: number;
  windowTimer: InstanceTimer | null;
}

/** What Enter answers. */
export interface EnterResult {
  readonly self: scene.PlayerState;
  readonly players: scene.PlayerState[];
  /** True when the player was in the scene already (a reconnect): nobody was told it appeared. */
  readonly rebound: boolean;
}

/**
 * A scene on its owning instance: players, their positions, the AOI grid, and the moves of the
 * current tick. Appear and Disappear are pushed when they happen; positions once per tick
 * ({@link flush}): each recipient gets at most one Positions push carrying every mover it sees.
 */
export class SceneWorld {
  readonly id: string;
  private readonly rt: SceneHost;
  private readonly grid: AoiGrid;
  private readonly limits: MoveLimits;
  private readonly players = new Map<string, ScenePlayer>();
  /** uid → its state, for the players that moved since the last flush. */
  private readonly moved = new Map<string, scene.PlayerState>();
  private readonly sceneIdField: Uint8Array;

  constructor(id: string, rt: SceneHost, settings: SceneSettings) {
    this.id = id;
    this.rt = rt;
    this.sceneIdField = sceneIdField(id);
    const b = settings.bounds;
    // AOI off: one cell covering the map, so everyone sees everyone.
    const cellSize = settings.aoi ? settings.cellSize : Math.max(b.maxX - b.minX, b.maxY - b.minY);
    this.grid = new AoiGrid({ ...b, cellSize });
    this.limits = { bounds: b, maxSpeed: settings.maxSpeed, speedToleranceMs: settings.speedToleranceMs };
  }

  get size(): number {
    return this.players.size;
  }

  has(uid: string): boolean {
    return this.players.has(uid);
  }

  /** The session that receives `uid`'s pushes, or null. */
  sessionOf(uid: string): SessionRef | null {
    return this.players.get(uid)?.session ?? null;
  }

  /** Every connected session of the scene. */
  sessions(): SessionRef[] {
    const out: SessionRef[] = [];
    for (const p of this.players.values()) if (p.session !== null) out.push(p.session);
    return out;
  }

  /** Places a player (or binds a new session to one already here, keeping its position). */
  enter(uid: string, session: SessionRef, x: number, y: number): EnterResult {
    const known = this.players.get(uid);
    if (known !== undefined) {
      known.windowTimer?.cancel();
      known.windowTimer = null;
      known.session = session;
      return { self: known.state, players: this.visibleStates(uid), rebound: true };
    }
    const at = clampToBounds(this.limits.bounds, x, y);
    const state: scene.PlayerState = { uid, x: at.x, y: at.y, dir: 0, seq: 0 };
    this.players.set(uid, { state, session, lastMoveAt: Date.now(), windowTimer: null });
    const seen = this.grid.enter(uid, at.x, at.y);
    this.pushToEach(seen, "scene.Appear", { sceneId: this.id, players: [state] });
    return { self: state, players: seen.map((o) => this.players.get(o)!.state), rebound: false };
  }

  /** Applies a move of `uid` sent from `session`; a refused move is answered with a Correction. */
  move(uid: string, session: SessionRef | null, req: scene.MoveRequest, now: number): void {
    const p = this.attached(uid, session);
    if (![req.x, req.y, req.dir].every(Number.isFinite)) throw new SwitchyardError("BAD_REQUEST", "x, y and dir must be finite numbers");
    const refusal = checkMove(this.limits, p.state.x, p.state.y, req.x, req.y, now - p.lastMoveAt);
    if (refusal !== null) {
      this.rt.push(p.session!, "scene.Correction", { sceneId: this.id, self: p.state, reason: refusal });
      return;
    }
    p.lastMoveAt = now;
    p.state.x = req.x;
    p.state.y = req.y;
    p.state.dir = req.dir;
    p.state.seq = req.seq;
    const change = this.grid.move(uid, req.x, req.y);
    if (change.disappeared.length > 0) {
      this.pushTo(uid, "scene.Disappear", { sceneId: this.id, uids: [...change.disappeared], reason: DisappearReason.moved });
      this.pushToEach(change.disappeared, "scene.Disappear", { sceneId: this.id, uids: [uid], reason: DisappearReason.moved });
    }
    if (change.appeared.length > 0) {
      this.pushTo(uid, "scene.Appear", { sceneId: this.id, players: change.appeared.map((o) => this.players.get(o)!.state) });
      this.pushToEach(change.appeared, "scene.Appear", { sceneId: this.id, players: [p.state] });
    }
    this.moved.set(uid, p.state);
  }

  /** World chat: every connected player of the scene gets the line. */
  chat(uid: string, session: SessionRef | null, text: string): void {
    this.attached(uid, session);
    this.rt.push(this.sessions(), "scene.ChatMessage", { sceneId: this.id, fromUid: uid, text, sentAt: Date.now() });
  }

  /** Removes a player; whoever saw it gets Disappear with `reason`. */
  remove(uid: string, reason: DisappearReason): boolean {
    const p = this.players.get(uid);
    if (p === undefined) return false;
    p.windowTimer?.cancel();
    this.players.delete(uid);
    this.moved.delete(uid);
    const saw = this.grid.leave(uid);
    this.pushToEach(saw, "scene.Disappear", { sceneId: this.id, uids: [uid], reason });
    return true;
  }

  /**
   * The connection of `uid` ended: it stays in the scene, frozen and without pushes, until
   * `onExpire` runs after the window (unless it enters again first).
   */
  disconnect(uid: string, session: SessionRef, windowMs: number, onExpire: () => void): boolean {
    const p = this.players.get(uid);
    if (p === undefined || p.session === null || p.session.gatewayId !== session.gatewayId || p.session.sid !== session.sid) return false;
    p.session = null;
    p.windowTimer?.cancel();
    p.windowTimer = this.rt.after(windowMs, onExpire);
    return true;
  }

  /**
   * Binds player `uid` to the session its uid was just bound to (a resume, or a login elsewhere,
   * which ended the older one: its close, if it comes later, no longer matches); false when the
   * player is not here or already there.
   */
  reattach(uid: string, session: SessionRef): boolean {
    const p = this.players.get(uid);
    if (p === undefined || (p.session !== null && p.session.gatewayId === session.gatewayId && p.session.sid === session.sid)) return false;
    this.rebind(uid, p, session);
    return true;
  }

  /** True while `uid` is disconnected (in its reconnect window). */
  isDisconnected(uid: string): boolean {
    return this.players.get(uid)?.session === null;
  }

  /**
   * Pushes this tick's positions: one Positions push per recipient that sees a mover, carrying
   * each mover's latest state (encoded once per tick, see positions-codec.ts). Returns the
   * number of pushes.
   */
  flush(): number {
    if (this.moved.size === 0) return 0;
    const parts: [string, Uint8Array][] = [];
    for (const [uid, state] of this.moved) parts.push([uid, playerEntry(state)]);
    this.moved.clear();
    const batches = positionsPerRecipient(this.grid, parts, (uid) => this.players.get(uid)?.session != null);
    for (const [uid, entries] of batches) this.rt.pushEncoded(this.players.get(uid)!.session!, "scene.Positions", positionsBody(this.sceneIdField, entries));
    return batches.size;
  }

  /** Every player leaves at once (the instance stops): each connected one is told who vanished. */
  dissolve(): string[] {
    const uids = [...this.players.keys()];
    for (const [uid, p] of this.players) {
      p.windowTimer?.cancel();
      if (p.session !== null) this.rt.push(p.session, "scene.Disappear", { sceneId: this.id, uids: this.grid.visibleTo(uid), reason: DisappearReason.lost });
    }
    for (const uid of uids) this.grid.leave(uid);
    this.players.clear();
    this.moved.clear();
    return uids;
  }

  private visibleStates(uid: string): scene.PlayerState[] {
    return this.grid.visibleTo(uid).map((o) => this.players.get(o)!.state);
  }

  /**
   * The player `uid` sending from `session`. A player the scene counts as disconnected is
   * rebound to the session its Move or Chat came from: the connection is alive whatever the
   * scene was told (a gateway sweep can declare a busy gateway's sessions closed, and a resumed
   * session comes back on a new connection), and the gateway stamped the uid, so it is the
   * player's own. Another live session of the same uid is refused.
   */
  private attached(uid: string, session: SessionRef | null): ScenePlayer {
    const p = this.players.get(uid);
    if (p === undefined) throw new SwitchyardError("NOT_FOUND", `you are not in scene ${this.id}: scene.Enter first`);
    if (p.session === null && session !== null) {
      this.rebind(uid, p, session);
      return p;
    }
    if (p.session === null || session === null || p.session.gatewayId !== session.gatewayId || p.session.sid !== session.sid) {
      throw new SwitchyardError("CONFLICT", `this connection is not the one in scene ${this.id}: call scene.Enter again from it`);
    }
    return p;
  }

  /** Binds a disconnected player to `session`; it got no pushes meanwhile, so it is sent who it sees now. */
  private rebind(uid: string, p: ScenePlayer, session: SessionRef): void {
    p.windowTimer?.cancel();
    p.windowTimer = null;
    p.session = session;
    const players = this.visibleStates(uid);
    if (players.length > 0) this.rt.push(session, "scene.Appear", { sceneId: this.id, players });
  }

  private pushTo<K extends keyof Pushes>(uid: string, route: K, msg: MessageInit<Pushes[K]>): void {
    const s = this.players.get(uid)?.session;
    if (s) this.rt.push(s, route, msg);
  }

  /** One push (one body) to every connected player of `uids`. */
  private pushToEach<K extends keyof Pushes>(uids: readonly string[], route: K, msg: MessageInit<Pushes[K]>): void {
    const targets: SessionRef[] = [];
    for (const o of uids) {
      const s = this.players.get(o)?.session;
      if (s) targets.push(s);
    }
    if (targets.length > 0) this.rt.push(targets, route, msg);
  }
}
