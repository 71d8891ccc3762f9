import { SwitchyardError } from "../../src/protocol/errors.js";
import { GatewayDirectory } from "../../src/bus/gateway-directory.js";
import { services, wire } from "../../src/generated/proto.js";
import { startIdGenerator, type IdGenerator } from "../../src/ids/index.js";
import { defineModule, type ContextOf, type ResumePoint, type RuntimeOf } from "../../src/module/index.js";
import { AccessPolicy } from "./access.js";
import { AccountStore } from "./accounts.js";
import { checkPassword, checkUsername, isTokenShaped } from "./fields.js";
import { HashGate } from "./hash-gate.js";
import { hashPassword, verifyPassword } from "./passwords.js";
import { LoginSettingsSchema, type LoginSettings } from "./settings.js";

/** State of this instance, built in onStart from the module settings. */
interface LoginState {
  accounts: AccountStore;
  access: AccessPolicy;
  gateways: GatewayDirectory;
  hashes: HashGate;
  ids: IdGenerator;
  settings: LoginSettings;
}

/** Calls that did not come through a gateway (no address) share this one bucket. */
const NO_ADDRESS = "internal";

function addressOf(ctx: Ctx): string {
  return ctx.session?.address || NO_ADDRESS;
}

const BAD_TOKEN = "token expired or revoked: log in with username and password";

type Ctx = ContextOf<typeof services.login, LoginState, LoginSettings>;

/** Removes a closed session from the online table (only if it is still that uid's session). */
function releaseOnClose(rt: RuntimeOf<typeof services.login>): void {
  rt.onSessionClosed("one", (closed) => {
    if (!closed.uid) return;
    rt.onlineTable()
      .release(closed.uid, { gatewayId: closed.gatewayId, sid: closed.sid })
      .catch((err: Error) => rt.log.warn({ err: err.message }, "online table release failed"));
  });
}

/** Admin routes: trusted callers (modules, `ctl call`) or uids in settings.admins. */
/** Most uids one login.Usernames call may name. */
const MAX_USERNAMES = 1000;

function requireAdmin(ctx: Ctx, state: LoginState): void {
  if (ctx.caller !== null) return;
  if (ctx.session?.uid && state.settings.admins.has(ctx.session.uid)) return;
  throw new SwitchyardError("FORBIDDEN", "this is an admin route: only operators (ctl) and uids in login settings.admins may call it");
}

/** Binds the session (evicting any older session of the uid) and builds the reply. */
async function completeLogin(ctx: Ctx, state: LoginState, uid: string, token: string, expiresAt: number, resume?: ResumePoint) {
  const bound = ctx.session !== null ? await ctx.bind(uid, resume) : null;
  const best = state.gateways.leastLoaded();
  return {
    uid,
    token,
    expiresAt,
    gateway: best === null ? null : { id: best.id, host: best.tcp.host, port: best.tcp.port },
    resumeCode: resume === undefined ? 0 : (bound?.resumeCode ?? 0),
    replayed: bound?.replayed ?? 0,
  };
}

/** Accounts and sessions: register, log in, resume, log out; bans and maintenance mode. */
export default defineModule(services.login, {
  version: "1.2.0",
  settings: LoginSettingsSchema,
  async onStart(rt): Promise<LoginState> {
    const settings = rt.settings;
    const state: LoginState = {
      accounts: new AccountStore(rt.redis()),
      access: new AccessPolicy(rt.redis(), settings),
      gateways: new GatewayDirectory(rt.nc, {
        onRefreshError: (err) => rt.log.debug({ err: err.message }, "gateway directory refresh failed"),
      }),
      hashes: new HashGate(settings.maxConcurrentHashes),
      ids: await startIdGenerator(rt.redis(), rt.instanceId, { log: rt.log }),
      settings,
    };
    state.gateways.start();
    releaseOnClose(rt);
    return state;
  },
  async onStop(_rt, state) {
    state.gateways.stop();
    await state.ids.close();
  },
  handlers: {
    async Register(ctx, req) {
      const state = ctx.state;
      checkUsername(req.username);
      checkPassword(req.password);
      const taken = `username "${req.username}" is taken: choose another`;
      // The name check comes before the hash: a taken name costs one read, never scrypt.
      if (await state.accounts.nameTaken(req.username)) throw new SwitchyardError("CONFLICT", taken);
      await state.access.takeRegistration(addressOf(ctx));
      const hash = await state.hashes.run(() => hashPassword(req.password, state.settings.passwordParams));
      // Still the final word: two registrations of one free name race here, one wins.
      // Uids issued before (u1, u2, … from a counter) stay valid: a uid is only ever compared.
      const uid = await state.accounts.create(req.username, hash, `u${state.ids.next()}`);
      if (uid === null) throw new SwitchyardError("CONFLICT", taken);
      return { uid };
    },

    async Login(ctx, req) {
      const state = ctx.state;
      checkUsername(req.username);
      checkPassword(req.password);
      const address = addressOf(ctx);
      await state.access.assertNotLockedOut(address, req.username);
      const account = await state.accounts.findByName(req.username);
      // Same answer for an unknown user and a wrong password: do not reveal which names exist.
      if (account === null || !(await state.hashes.run(() => verifyPassword(req.password, account.passwordHash)))) {
        await state.access.recordFailure(address, req.username);
        throw new SwitchyardError("UNAUTHENTICATED", "wrong username or password");
      }
      await state.access.clearFailures(address, req.username);
      await state.access.assertMayLogIn(account.uid);
      const { token, expiresAt } = await state.accounts.issueToken(account.uid, state.settings.tokenTtlSeconds, state.settings.maxTokensPerUser);
      return completeLogin(ctx, state, account.uid, token, expiresAt);
    },

    async Resume(ctx, req) {
      const state = ctx.state;
      if (!isTokenShaped(req.token)) throw new SwitchyardError("UNAUTHENTICATED", BAD_TOKEN);
      const found = await state.accounts.checkToken(req.token);
      if (found === null) throw new SwitchyardError("UNAUTHENTICATED", BAD_TOKEN);
      await state.access.assertMayLogIn(found.uid);
      return completeLogin(ctx, state, found.uid, req.token, found.expiresAt, req.resumePushes ? { lastSeq: req.lastSeq, ...(req.listsPubs ? { recentPubs: req.recentPubs } : {}) } : undefined);
    },

    async Logout(ctx, req) {
      const state = ctx.state;
      const uid = ctx.requireUid();
      if (req.token !== "" && !isTokenShaped(req.token)) throw new SwitchyardError("BAD_REQUEST", "token is not one this server issued: send the token from LoginReply, or an empty token to revoke all");
      await state.accounts.revoke(uid, req.token);
      const s = ctx.session!;
      await ctx.module.onlineTable().release(uid, { gatewayId: s.gatewayId, sid: s.sid });
      await ctx.unbind();
      return {};
    },

    async Ban(ctx, req) {
      const state = ctx.state;
      requireAdmin(ctx, state);
      if (!req.uid) throw new SwitchyardError("BAD_REQUEST", "uid is required");
      await state.access.ban(req.uid);
      await state.accounts.revoke(req.uid, "");
      const reason = req.reason ? `banned: ${req.reason}` : "banned";
      await ctx.module.kickUid(req.uid, wire.ErrorCode.FORBIDDEN, reason).catch(() => false);
      ctx.log.info({ uid: req.uid, reason: req.reason }, "uid banned");
      return {};
    },

    async Unban(ctx, req) {
      const state = ctx.state;
      requireAdmin(ctx, state);
      await state.access.unban(req.uid);
      return {};
    },

    async Usernames(ctx, req) {
      const caller = ctx.requireCaller();
      if (req.uids.length > MAX_USERNAMES) {
        throw new SwitchyardError("BAD_REQUEST", `login.Usernames takes at most ${MAX_USERNAMES} uids, got ${req.uids.length}: split the request (${caller.module} asked)`);
      }
      return { usernames: await ctx.state.accounts.usernamesOf(req.uids) };
    },

    async SetMaintenance(ctx, req) {
      const state = ctx.state;
      requireAdmin(ctx, state);
      const result = await state.access.setMaintenance(req.enabled, req.whitelist);
      ctx.log.info(result, "maintenance mode set");
      return result;
    },
  },
});
