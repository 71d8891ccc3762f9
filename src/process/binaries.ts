import { existsSync } from "node:fs";
import { join } from "node:path";

/**
 * Finds a server binary on PATH or in the Debian locations (Debian puts nats-server in
 * /usr/sbin, which is not on a normal user's PATH).
 */
export function findBinary(name: string): string {
  for (const dir of [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"]) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(`${name} not found: run \`npm run setup\` (installs it from Debian's packages with apt-get)`);
}
