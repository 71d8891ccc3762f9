import { SwitchyardError, isErrorCode } from "../../src/protocol/errors.js";
import type { scene } from "../../src/generated/proto.js";
import type { MessageInit, SessionClosedEvent, SessionOpenedEvent, SessionRef } from "../../src/module/index.js";
import type { SceneContext, SceneRuntime } from "./context.js";
import type { SceneDirectory, StaleMember } from "./scene-directory.js";
import { DisappearReason, SceneWorld } from "./scene-world.js";
import type { SceneSettings } from "./settings.js";

const SCENE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_CHAT_CHARS = 500;

/**
 * The scene routes on one instance. The directory's lease names each scene's owner; the owner
 * runs the scene. A request landing on another instance is forwarded to the owner's instance
 * subject and the reply pins the session there (`ctx.pin(owner)`), as game does for rooms.
 */
export class SceneService {
  private readonly rt: SceneRuntime;
  private readonly dir: SceneDirectory;
  private readonly settings: SceneSettings;
  /** Scenes this instance owns. */
  readonly worlds = new Map<string, SceneWorld>();
  /** uid → the local scene it is in. */
  private readonly sceneOfUid = new Map<string, SceneWorld>();
  private emptyWaiters: (() => void)[] = [];

  constructor(rt: SceneRuntime, dir: SceneDirectory, settings: SceneSettings) {
    this.rt = rt;
    this.dir = dir;
    this.settings = settings;
  }

  private get me(): string {
    return this.rt.instanceId;
  }

  /** scene.Enter */
  async enter(ctx: SceneContext, req: scene.EnterRequest): Promise<MessageInit<scene.EnterReply>> {
    const uid = ctx.requireUid();
    if (!SCENE_ID.test(req.sceneId)) throw new SwitchyardError("BAD_REQUEST", "scene_id must be 1-64 of A-Z a-z 0-9 _ -");
    if (!Number.isFinite(req.x) || !Number.isFinite(req.y)) throw new SwitchyardError("BAD_REQUEST", "x and y must be finite numbers");
    const session = ctx.session;
    if (session === null) throw new SwitchyardError("BAD_REQUEST", "entering a scene needs a client session, but the request came from a module without one");
    const here = this.sceneOfUid.get(uid);
    if (here !== undefined && here.id !== req.sceneId) {
      throw new SwitchyardError("CONFLICT", `you are in scene ${here.id}: scene.Leave it first`);
    }
    let world = this.worlds.get(req.sceneId);
    if (world === undefined) {
      if (this.rt.draining) return this.forwardEnter(ctx, req, null);
      const claim = await this.dir.claim(req.sceneId);
      if (claim.owner !== this.me) return this.forwardEnter(ctx, req, claim.owner);
      this.tellStale(req.sceneId, claim.stale);
      world = this.worlds.get(req.sceneId) ?? this.open(req.sceneId);
    }
    const other = await this.dir.join(req.sceneId, uid, session);
    if (this.worlds.get(req.sceneId) !== world) {
      // Dropped while Redis answered (another instance took the scene over): start again there.
      return this.enter(ctx, req);
    }
    if (other !== null) {
      if (world.size === 0) await this.closeIfEmpty(world);
      throw new SwitchyardError("CONFLICT", `you are in scene ${other}: scene.Leave it first`);
    }
    const r = world.enter(uid, session, req.x, req.y);
    this.sceneOfUid.set(uid, world);
    ctx.pin();
    return { sceneId: world.id, instanceId: this.me, self: r.self, players: r.players, cellSize: this.settings.aoi ? this.settings.cellSize : 0 };
  }

  /** scene.Leave */
  async leave(ctx: SceneContext): Promise<MessageInit<scene.LeaveReply>> {
    const uid = ctx.requireUid();
    const world = this.sceneOfUid.get(uid);
    if (world === undefined) {
      const reply = await this.onOwner(ctx, uid, (owner) => ctx.call("scene.Leave", {}, { instance: owner }));
      ctx.unpin();
      return reply;
    }
    await this.removePlayer(world, uid, DisappearReason.left);
    ctx.unpin();
    return { sceneId: world.id };
  }

  /** scene.Move (sent as NOTIFY); synchronous on the owner, the hot path. */
  move(ctx: SceneContext, req: scene.MoveRequest): MessageInit<scene.MoveReply> | Promise<MessageInit<scene.MoveReply>> {
    const uid = ctx.requireUid();
    const world = this.sceneOfUid.get(uid);
    if (world === undefined) return this.onOwner(ctx, uid, (owner) => ctx.call("scene.Move", req, { instance: owner })).then(() => ({}));
    world.move(uid, ctx.session, req, Date.now());
    return {};
  }

  /** scene.Chat */
  async chat(ctx: SceneContext, req: scene.ChatRequest): Promise<MessageInit<scene.ChatReply>> {
    const uid = ctx.requireUid();
    const chars = [...req.text].length;
    if (chars === 0 || chars > MAX_CHAT_CHARS) throw new SwitchyardError("BAD_REQUEST", `text must be 1-${MAX_CHAT_CHARS} characters (got ${chars})`);
    const world = this.sceneOfUid.get(uid);
    if (world === undefined) {
      await this.onOwner(ctx, uid, (owner) => ctx.call("scene.Chat", req, { instance: owner }));
      return {};
    }
    world.chat(uid, ctx.session, req.text);
    return {};
  }

  /** Pushes every scene's positions of this tick. */
  tick(): void {
    for (const w of this.worlds.values()) w.flush();
  }

  /**
   * A uid was bound to a new session somewhere: a player of a local scene is bound to it at once
   * (and sent who it sees now), as its next Move from there would do.
   */
  onSessionOpened(opened: SessionOpenedEvent): void {
    const world = this.sceneOfUid.get(opened.uid);
    world?.reattach(opened.uid, { gatewayId: opened.gatewayId, sid: opened.sid, uid: opened.uid });
  }

  /** A session ended somewhere: a player of a local scene on it starts its reconnect window. */
  onSessionClosed(closed: SessionClosedEvent): void {
    if (!closed.uid) return;
    const world = this.sceneOfUid.get(closed.uid);
    if (world === undefined) return;
    const session: SessionRef = { gatewayId: closed.gatewayId, sid: closed.sid, uid: closed.uid };
    world.disconnect(closed.uid, session, this.settings.reconnectWindowMs, () => {
      if (this.sceneOfUid.get(closed.uid) !== world || !world.isDisconnected(closed.uid)) return;
      return this.removePlayer(world, closed.uid, DisappearReason.disconnected);
    });
  }

  /** Renews the leases of the local scenes; a scene whose lease was lost is dropped here. */
  async renewLeases(): Promise<void> {
    const lost = await this.dir.renew([...this.worlds.keys()]);
    for (const id of lost) {
      const world = this.worlds.get(id);
      if (world === undefined) continue;
      this.rt.log.warn({ scene: id, players: world.size }, "scene lease lost (another instance took the scene over): dropping it here");
      this.drop(world);
    }
  }

  /** Takes over scenes whose owner died: tells their former players everyone vanished, then lets go. */
  async sweepOrphans(): Promise<void> {
    for (const id of await this.dir.orphans()) {
      if (this.worlds.has(id)) continue;
      const claim = await this.dir.claim(id);
      if (claim.owner !== this.me) continue;
      this.tellStale(id, claim.stale);
      this.rt.log.info({ scene: id, players: claim.stale.length }, "took over a scene whose instance is gone: its players were told to enter again");
      if (!this.worlds.has(id)) await this.dir.release(id);
    }
  }

  /** Resolves once no local scene has a player. */
  whenEmpty(): Promise<void> {
    if (this.sceneOfUid.size === 0) return Promise.resolve();
    return new Promise((r) => this.emptyWaiters.push(r));
  }

  /** The instance stops: every player is told its neighbours vanished; records and leases are released. */
  async stop(): Promise<void> {
    for (const world of [...this.worlds.values()]) {
      const uids = world.dissolve();
      for (const uid of uids) this.sceneOfUid.delete(uid);
      this.worlds.delete(world.id);
      await Promise.all(uids.map((uid) => this.dir.leave(world.id, uid))).catch(() => undefined);
      await this.dir.release(world.id).catch(() => undefined);
    }
    await this.rt.nc.flush().catch(() => undefined);
  }

  private open(id: string): SceneWorld {
    const world = new SceneWorld(id, this.rt, this.settings);
    this.worlds.set(id, world);
    return world;
  }

  /** Every former player of an orphaned scene sees everyone of it disappear. */
  private tellStale(sceneId: string, stale: readonly StaleMember[]): void {
    for (const m of stale) {
      const uids = stale.filter((o) => o.uid !== m.uid).map((o) => o.uid);
      this.rt.push(m.session, "scene.Disappear", { sceneId, uids, reason: DisappearReason.lost });
    }
  }

  private async removePlayer(world: SceneWorld, uid: string, reason: DisappearReason): Promise<void> {
    if (!world.remove(uid, reason)) return;
    this.sceneOfUid.delete(uid);
    await this.dir.leave(world.id, uid);
    await this.closeIfEmpty(world);
  }

  private async closeIfEmpty(world: SceneWorld): Promise<void> {
    if (world.size > 0 || this.worlds.get(world.id) !== world) return;
    this.worlds.delete(world.id);
    await this.dir.release(world.id);
    if (this.sceneOfUid.size === 0) for (const w of this.emptyWaiters.splice(0)) w();
  }

  private drop(world: SceneWorld): void {
    for (const uid of world.dissolve()) if (this.sceneOfUid.get(uid) === world) this.sceneOfUid.delete(uid);
    this.worlds.delete(world.id);
    if (this.sceneOfUid.size === 0) for (const w of this.emptyWaiters.splice(0)) w();
  }

  /** Enter on the owner (or, while draining, on any other instance); pins the session to the owner. */
  private async forwardEnter(ctx: SceneContext, req: scene.EnterRequest, owner: string | null): Promise<MessageInit<scene.EnterReply>> {
    try {
      const reply = await ctx.call("scene.Enter", req, owner !== null ? { instance: owner } : {});
      ctx.pin(reply.instanceId);
      return reply;
    } catch (err) {
      if (!isErrorCode(err, "UNAVAILABLE")) throw err;
      throw new SwitchyardError("UNAVAILABLE", `the server of scene ${req.sceneId} is not answering: retry in ${this.settings.leaseMs} ms (another server takes the scene over)`, { cause: err });
    }
  }

  /** Runs a call on the owner of the caller's scene (a request that reached a non-owner); pins there. */
  private async onOwner<T>(ctx: SceneContext, uid: string, call: (owner: string) => Promise<T>): Promise<T> {
    const sceneId = await this.dir.sceneOf(uid);
    const owner = sceneId === null ? null : await this.dir.owner(sceneId);
    if (sceneId === null || owner === null || owner === this.me) {
      throw new SwitchyardError("NOT_FOUND", "you are in no scene: scene.Enter first");
    }
    try {
      const out = await call(owner);
      ctx.pin(owner);
      return out;
    } catch (err) {
      if (!isErrorCode(err, "UNAVAILABLE")) throw err;
      throw new SwitchyardError("UNAVAILABLE", `the server of scene ${sceneId} is not answering: retry in ${this.settings.leaseMs} ms, then scene.Enter again`, { cause: err });
    }
  }
}
