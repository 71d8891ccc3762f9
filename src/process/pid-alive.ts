import { readFileSync } from "node:fs";
import { basename } from "node:path";

/**
 * True while a process with that pid runs on this machine. A zombie does not count: an orphan
 * whose new parent does not reap it (pid 1 of some containers) stays a zombie forever, and
 * signal 0 still succeeds on it.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists, it is just not ours to signal.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc (macOS): signal 0 is all we have
  }
}

/** True when `pid` is alive and runs `program` (Linux /proc; elsewhere: when it is alive). */
export function pidRunsProgram(pid: number, program: string): boolean {
  if (!pidAlive(pid)) return false;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    // redis-server rewrites its title to "/usr/bin/redis-server 127.0.0.1:6379": first word only.
    return cmdline.split("\0").some((part) => basename(part.split(" ")[0] ?? "") === program);
  } catch {
    return process.platform !== "linux";
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone (bounded for zombies). */
export async function killPid(pid: number, graceMs: number): Promise<void> {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && pidAlive(pid)) await new Promise((r) => setTimeout(r, 50));
  if (!pidAlive(pid)) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return;
  }
  const killDeadline = Date.now() + 2_000;
  while (Date.now() < killDeadline && pidAlive(pid)) await new Promise((r) => setTimeout(r, 20));
}
