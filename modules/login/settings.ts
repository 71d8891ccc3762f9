import { z } from "../../src/module/index.js";
import { DEFAULT_PASSWORD_PARAMS, type PasswordParams } from "./passwords.js";

const count = (fallback: number) => z.number().int().min(1).default(fallback);

/** `modules.login.settings`, validated once at start; every key optional. */
export const LoginSettingsSchema = z
  .object({
    /** scrypt CPU/memory cost (a power of two); hashes keep the cost they were made with. */
    scryptN: z.number().int().min(2).optional(),
    tokenTtlSeconds: count(24 * 3600),
    /** Live tokens per user; a Login past it revokes the user's oldest tokens. */
    maxTokensPerUser: count(5),
    /** Failed logins of one username from one address within `failedLoginWindowSeconds`. */
    maxFailedLogins: count(5),
    failedLoginWindowSeconds: count(60),
    /** Failed logins from one address (any usernames) within `addressFailureWindowSeconds`. */
    maxFailedLoginsPerAddress: count(30),
    addressFailureWindowSeconds: count(600),
    /** Registrations one address may attempt per hour. */
    maxRegistrationsPerAddressPerHour: count(20),
    /** scrypt computations (hash or verify) one instance runs at once. */
    maxConcurrentHashes: count(4),
    /** Uids that may call the admin routes from a client. */
    admins: z.array(z.string()).default([]),
  })
  .strict()
  .transform(({ scryptN, admins, ...rest }) => ({
    ...rest,
    passwordParams: (scryptN === undefined ? DEFAULT_PASSWORD_PARAMS : { ...DEFAULT_PASSWORD_PARAMS, N: scryptN }) as PasswordParams,
    admins: new Set(admins),
  }));

/** The login module's settings, defaults filled in. */
export type LoginSettings = z.output<typeof LoginSettingsSchema>;
