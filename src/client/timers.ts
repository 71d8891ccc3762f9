/** A timer handle of any runtime (Node's Timeout object, a browser's number). */
export type TimerHandle = ReturnType<typeof setTimeout>;

/** Lets a Node process exit while only this timer is pending; a no-op in browsers. */
export function unrefTimer(timer: TimerHandle): void {
  (timer as { unref?: () => void }).unref?.();
}
