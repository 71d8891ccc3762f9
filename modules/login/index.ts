import { SwitchyardError } from "../../src/bus/errors.js";
import { wire } from "../../src/generated/proto.js";
import { defineModule, type HandlerContext, type ModuleRuntime } from "../../src/module/index.js";
import { AccessPolicy, DEFAULT_FAILURE_LIMIT } from "./access.js";
import { AccountStore } from "./accounts.js";
import { GatewayDirectory } from "./gateway-directory.js";
import { InstanceState } from "../shared/instance-state.js";
import { DEFAULT_PASSWORD_PARAMS, hashPassword, verifyPassword, type PasswordParams } from "./passwords.js";

const USERNAME = /^[A-Za-z0-9_.-]{3,32}$/;
const MIN_PASSWORD = 8;
const MAX_PASSWORD = 256;
const DEFAULT_TOKEN_TTL_S = 24 * 3600;

/** State of this instance, built in onStart from the module settings. */
interface LoginState {
  accounts: AccountStore;
  access: AccessPolicy;
  gateways: GatewayDirectory;
  passwordParams: PasswordParams;
  tokenTtlS: number;
  admins: Set<string>;
}

const instances = new InstanceState<LoginState>();

/** Removes a closed session from the online table (only if it is still that uid's session). */
function releaseOnClose(rt: ModuleRuntime): void {
  rt.onSessionClosed("one", (closed) => {
    if (!closed.uid) return;
    rt.onlineTable()
      .release(closed.uid, { gatewayId: closed.gatewayId, sid: closed.sid })
      .catch((err: Error) => rt.log.warn({ err: err.message }, "online table release failed"));
  });
}

/** Admin routes: internal callers (no client session, e.g. ctl) or uids in settings.admins. */
function requireAdmin(ctx: HandlerContext, state: LoginState): void {
  if (ctx.session === null) return;
  if (ctx.session.uid !== null && state.admins.has(ctx.session.uid)) return;
  throw new SwitchyardError("FORBIDDEN", "this is an admin route: only operators (ctl) and uids in login settings.admins may call it");
}

/** Binds the session (evicting any older session of the uid) and builds the reply. */
async function completeLogin(ctx: HandlerContext, state: LoginState, uid: string, token: string, expiresAt: number) {
  if (ctx.session !== null) await ctx.bind(uid);
  return { uid, token, expiresAt, gateway: state.gateways.leastLoaded() };
}

/** Accounts and sessions: register, log in, resume, log out; bans and maintenance mode. */
export default defineModule({
  name: "login",
  version: "1.1.0",
  onStart(rt) {
    const s = rt.settings;
    const limit = {
      attempts: typeof s.maxFailedLogins === "number" ? s.maxFailedLogins : DEFAULT_FAILURE_LIMIT.attempts,
      windowSeconds: typeof s.failedLoginWindowSeconds === "number" ? s.failedLoginWindowSeconds : DEFAULT_FAILURE_LIMIT.windowSeconds,
    };
    const state: LoginState = {
      accounts: new AccountStore(rt.redis()),
      access: new AccessPolicy(rt.redis(), limit),
      gateways: new GatewayDirectory(rt),
      passwordParams: typeof s.scryptN === "number" ? { ...DEFAULT_PASSWORD_PARAMS, N: s.scryptN } : DEFAULT_PASSWORD_PARAMS,
      tokenTtlS: typeof s.tokenTtlSeconds === "number" ? s.tokenTtlSeconds : DEFAULT_TOKEN_TTL_S,
      admins: new Set(Array.isArray(s.admins) ? s.admins.map(String) : []),
    };
    instances.set(rt, state);
    state.gateways.start();
    releaseOnClose(rt);
  },
  onStop(rt) {
    instances.ofRuntime(rt).gateways.stop();
  },
  handlers: {
    async Register(ctx, req) {
      const state = instances.of(ctx);
      if (!USERNAME.test(req.username)) {
        throw new SwitchyardError("BAD_REQUEST", "username must be 3-32 characters: letters, digits, '_', '-' or '.'");
      }
      if (req.password.length < MIN_PASSWORD || req.password.length > MAX_PASSWORD) {
        throw new SwitchyardError("BAD_REQUEST", `password must be ${MIN_PASSWORD}-${MAX_PASSWORD} characters`);
      }
      const uid = await state.accounts.create(req.username, await hashPassword(req.password, state.passwordParams));
      if (uid === null) throw new SwitchyardError("CONFLICT", `username "${req.username}" is taken: choose another`);
      return { uid };
    },

    async Login(ctx, req) {
      const state = instances.of(ctx);
      await state.access.assertNotLockedOut(req.username);
      const account = await state.accounts.findByName(req.username);
      // Same answer for an unknown user and a wrong password: do not reveal which names exist.
      if (account === null || !(await verifyPassword(req.password, account.passwordHash))) {
        await state.access.recordFailure(req.username);
        throw new SwitchyardError("UNAUTHENTICATED", "wrong username or password");
      }
      await state.access.clearFailures(req.username);
      await state.access.assertMayLogIn(account.uid);
      const { token, expiresAt } = await state.accounts.issueToken(account.uid, state.tokenTtlS);
      return completeLogin(ctx, state, account.uid, token, expiresAt);
    },

    async Resume(ctx, req) {
      const state = instances.of(ctx);
      const found = await state.accounts.checkToken(req.token);
      if (found === null) throw new SwitchyardError("UNAUTHENTICATED", "token expired or revoked: log in with username and password");
      await state.access.assertMayLogIn(found.uid);
      return completeLogin(ctx, state, found.uid, req.token, found.expiresAt);
    },

    async Logout(ctx, req) {
      const state = instances.of(ctx);
      const uid = ctx.requireUid();
      await state.accounts.revoke(uid, req.token);
      const s = ctx.session!;
      await ctx.module.onlineTable().release(uid, { gatewayId: s.gatewayId, sid: s.sid });
      await ctx.unbind();
      return {};
    },

    async Ban(ctx, req) {
      const state = instances.of(ctx);
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
      const state = instances.of(ctx);
      requireAdmin(ctx, state);
      await state.access.unban(req.uid);
      return {};
    },

    async SetMaintenance(ctx, req) {
      const state = instances.of(ctx);
      requireAdmin(ctx, state);
      const result = await state.access.setMaintenance(req.enabled, req.whitelist);
      ctx.log.info(result, "maintenance mode set");
      return result;
    },
  },
});
