/** States every Switchyard process goes through, in this order. */
export const LifecycleState = {
  starting: "starting",
  ready: "ready",
  draining: "draining",
  stopped: "stopped",
} as const;
export type LifecycleState = (typeof LifecycleState)[keyof typeof LifecycleState];
