import type { Client } from "../../src/client/index.js";

/** Resolves with the next push on `route` that passes `pred`; rejects after `ms`. */
export function nextPush<T>(c: Client, route: string, pred: (m: T) => boolean = () => true, ms = 3_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${route} push within ${ms} ms`));
    }, ms);
    const off = c.on<T>(route, (m) => {
      if (!pred(m)) return;
      clearTimeout(timer);
      off();
      resolve(m);
    });
  });
}

/** Collects every push on `route` from now on. */
export function collect<T>(c: Client, route: string): T[] {
  const out: T[] = [];
  c.on<T>(route, (m) => out.push(m));
  return out;
}
