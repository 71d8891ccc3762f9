import { SwitchyardError } from "../../src/bus/errors.js";
import { SystemSubject } from "../../src/bus/subjects.js";
import type { cluster } from "../../src/generated/proto.js";
import { defineModule, type ModuleRuntime } from "../../src/module/index.js";
import { loadProto } from "../../src/proto/registry.js";
import { AccountStore } from "./accounts.js";
import { DEFAULT_PASSWORD_PARAMS, hashPassword, verifyPassword, type PasswordParams } from "./passwords.js";

const USERNAME = /^[A-Za-z0-9_.-]{3,32}$/;
const MIN_PASSWORD = 8;
const MAX_PASSWORD = 256;
const DEFAULT_TOKEN_TTL_S = 24 * 3600;

let accounts: AccountStore;
let passwordParams: PasswordParams = DEFAULT_PASSWORD_PARAMS;
let tokenTtlS = DEFAULT_TOKEN_TTL_S;

/** Removes a closed session from the online table (only if it is still that uid's session). */
function releaseOnClose(rt: ModuleRuntime): void {
  const codec = loadProto().message<cluster.SessionClosed>("cluster.SessionClosed");
  const online = rt.onlineTable();
  rt.nc.subscribe(SystemSubject.sessionClosed, {
    queue: rt.name,
    callback: (_err, msg) => {
      let closed: cluster.SessionClosed;
      try {
        closed = codec.decode(msg.data);
      } catch {
        return;
      }
      if (!closed.uid) return;
      online.release(closed.uid, { gatewayId: closed.gatewayId, sid: closed.sid }).catch((err: Error) => rt.log.warn({ err: err.message }, "online table release failed"));
    },
  });
}

/** Accounts and sessions: register, log in (binding the session to the uid). */
export default defineModule({
  name: "login",
  version: "1.0.0",
  onStart(rt) {
    accounts = new AccountStore(rt.redis());
    const s = rt.settings;
    if (typeof s.scryptN === "number") passwordParams = { ...DEFAULT_PASSWORD_PARAMS, N: s.scryptN };
    if (typeof s.tokenTtlSeconds === "number") tokenTtlS = s.tokenTtlSeconds;
    releaseOnClose(rt);
  },
  handlers: {
    async Register(_ctx, req) {
      if (!USERNAME.test(req.username)) {
        throw new SwitchyardError("BAD_REQUEST", "username must be 3-32 characters: letters, digits, '_', '-' or '.'");
      }
      if (req.password.length < MIN_PASSWORD || req.password.length > MAX_PASSWORD) {
        throw new SwitchyardError("BAD_REQUEST", `password must be ${MIN_PASSWORD}-${MAX_PASSWORD} characters`);
      }
      const uid = await accounts.create(req.username, await hashPassword(req.password, passwordParams));
      if (uid === null) throw new SwitchyardError("CONFLICT", `username "${req.username}" is taken: choose another`);
      return { uid };
    },
    async Login(ctx, req) {
      const account = await accounts.findByName(req.username);
      // Same answer for an unknown user and a wrong password: do not reveal which names exist.
      if (account === null || !(await verifyPassword(req.password, account.passwordHash))) {
        throw new SwitchyardError("UNAUTHENTICATED", "wrong username or password");
      }
      const { token, expiresAt } = await accounts.issueToken(account.uid, tokenTtlS);
      if (ctx.session !== null) await ctx.bind(account.uid);
      return { uid: account.uid, token, expiresAt };
    },
  },
});
