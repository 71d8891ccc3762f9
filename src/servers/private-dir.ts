import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, writeSync } from "node:fs";
import { SwitchyardError } from "../protocol/errors.js";

/** The uid of this process (-1 where there is none, e.g. Windows). */
function myUid(): number {
  return typeof process.getuid === "function" ? process.getuid() : -1;
}

/**
 * Makes sure `dir` is a folder only this user can enter: creates it (and missing parents) with
 * mode 0700, or checks an existing one. Refuses a folder that is a symlink, belongs to another
 * user or is open to group/others: another local user could read the credentials in it, or
 * swap its files.
 */
export function ensurePrivateDir(dir: string, what = "runtime folder"): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const uid = myUid();
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new SwitchyardError("FORBIDDEN", `${what} ${dir} is not a plain folder (a symlink?): remove it, or point runtimeDir in the cluster config elsewhere`);
  }
  if (uid !== -1 && st.uid !== uid) {
    throw new SwitchyardError(
      "FORBIDDEN",
      `${what} ${dir} belongs to uid ${st.uid}, not to you (uid ${uid}): another user may have created it to read the cluster's credentials; remove it, or set runtimeDir in the cluster config to a folder of yours`,
    );
  }
  if ((st.mode & 0o077) !== 0) {
    throw new SwitchyardError(
      "FORBIDDEN",
      `${what} ${dir} is open to other users (mode ${(st.mode & 0o777).toString(8)}): run \`chmod 700 ${dir}\`, or set runtimeDir to a folder only you can enter`,
    );
  }
}

/** Writes `text` to `file` with mode 0600 (also when the file existed with a wider mode). */
export function writePrivateFile(file: string, text: string): void {
  const fd = openSync(file, "w", 0o600);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  chmodSync(file, 0o600);
}

/** Opens `file` for appending, created 0600 (a server's log). Returns the descriptor. */
export function openPrivateLog(file: string): number {
  const fd = openSync(file, "a", 0o600);
  chmodSync(file, 0o600);
  return fd;
}

/** Throws unless `file` belongs to this user and is not readable by group/others. */
export function checkPrivateFile(file: string, what: string): void {
  const st = lstatSync(file);
  const uid = myUid();
  if (!st.isFile() || (uid !== -1 && st.uid !== uid) || (st.mode & 0o077) !== 0) {
    throw new SwitchyardError(
      "FORBIDDEN",
      `${what} ${file} must be a file of yours with mode 0600 (it is uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)}): run \`chmod 600 ${file}\` if it is yours, else remove it`,
    );
  }
}
