import type { ChildProcess } from "node:child_process";

/** Resolves once the child's pino output (stdout) contains `text`; rejects with what it saw after `timeoutMs`. */
export function waitForOutput(child: ChildProcess, text: string, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`no "${text}" in output after ${timeoutMs} ms:\n${seen}`)), timeoutMs);
    child.stdout!.on("data", (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}
