import { DEFAULT_PASSWORD_PARAMS, type PasswordParams } from "./passwords.js";

/** The login module's settings (`modules.login.settings`), defaults filled in. */
export interface LoginSettings {
  passwordParams: PasswordParams;
  tokenTtlSeconds: number;
  /** Live tokens per user; a Login past it revokes the user's oldest tokens. */
  maxTokensPerUser: number;
  /** Failed logins of one username from one address within `failedLoginWindowSeconds`. */
  maxFailedLogins: number;
  failedLoginWindowSeconds: number;
  /** Failed logins from one address (any usernames) within `addressFailureWindowSeconds`. */
  maxFailedLoginsPerAddress: number;
  addressFailureWindowSeconds: number;
  /** Registrations one address may attempt per hour. */
  maxRegistrationsPerAddressPerHour: number;
  /** scrypt computations (hash or verify) one instance runs at once. */
  maxConcurrentHashes: number;
  admins: Set<string>;
}

/** Defaults: what a deployment gets when it sets nothing. */
export const DEFAULT_LOGIN_SETTINGS: Readonly<Omit<LoginSettings, "admins" | "passwordParams">> = {
  tokenTtlSeconds: 24 * 3600,
  maxTokensPerUser: 5,
  maxFailedLogins: 5,
  failedLoginWindowSeconds: 60,
  maxFailedLoginsPerAddress: 30,
  addressFailureWindowSeconds: 600,
  maxRegistrationsPerAddressPerHour: 20,
  maxConcurrentHashes: 4,
};

/** Reads the module settings; a wrong type or a value < 1 throws with the key named. */
export function parseLoginSettings(s: Readonly<Record<string, unknown>>): LoginSettings {
  const num = (key: keyof typeof DEFAULT_LOGIN_SETTINGS): number => {
    const v = s[key];
    if (v === undefined) return DEFAULT_LOGIN_SETTINGS[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new Error(`modules.login.settings.${key} must be a whole number >= 1, got ${JSON.stringify(v)}`);
    return v;
  };
  return {
    passwordParams: typeof s.scryptN === "number" ? { ...DEFAULT_PASSWORD_PARAMS, N: s.scryptN } : DEFAULT_PASSWORD_PARAMS,
    tokenTtlSeconds: num("tokenTtlSeconds"),
    maxTokensPerUser: num("maxTokensPerUser"),
    maxFailedLogins: num("maxFailedLogins"),
    failedLoginWindowSeconds: num("failedLoginWindowSeconds"),
    maxFailedLoginsPerAddress: num("maxFailedLoginsPerAddress"),
    addressFailureWindowSeconds: num("addressFailureWindowSeconds"),
    maxRegistrationsPerAddressPerHour: num("maxRegistrationsPerAddressPerHour"),
    maxConcurrentHashes: num("maxConcurrentHashes"),
    admins: new Set(Array.isArray(s.admins) ? s.admins.map(String) : []),
  };
}
