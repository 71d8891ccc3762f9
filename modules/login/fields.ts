import { SwitchyardError } from "../../src/protocol/errors.js";

/** Usernames: 3-32 of letters, digits, '_', '-' and '.' (compared case-insensitively). */
export const USERNAME = /^[A-Za-z0-9_.-]{3,32}$/;
export const MIN_PASSWORD = 8;
export const MAX_PASSWORD = 256;
/** Tokens are 24 random bytes in base64url: 32 characters. */
const TOKEN = /^[A-Za-z0-9_-]{32}$/;

// Every public route checks its fields with these before it touches Redis or scrypt, so a
// hostile body costs a regex test, never a key, a counter or a hash.

/** Throws BAD_REQUEST unless `username` follows the username rule. */
export function checkUsername(username: string): void {
  if (!USERNAME.test(username)) throw new SwitchyardError("BAD_REQUEST", "username must be 3-32 characters: letters, digits, '_', '-' or '.'");
}

/** Throws BAD_REQUEST unless the password length is within the rule. */
export function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD || password.length > MAX_PASSWORD) {
    throw new SwitchyardError("BAD_REQUEST", `password must be ${MIN_PASSWORD}-${MAX_PASSWORD} characters`);
  }
}

/** True when `token` has the shape of a token this module issues. */
export function isTokenShaped(token: string): boolean {
  return TOKEN.test(token);
}
