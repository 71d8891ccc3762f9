/**
 * How a gateway marks a request of an ordered lane (see src/gateway/request-lane.ts): its
 * request id (`sy-rid`) ends with this suffix. The module host then runs the session's marked
 * requests one after another in arrival order, and answers one that came through the queue
 * group with its instance id (`sy-inst`) so that the session's next requests can be sent
 * straight to it. A suffix of the id the gateway stamps anyway costs no header of its own.
 */
export const ORDERED_RID_SUFFIX = "/o";

/** True when request id `rid` carries ORDERED_RID_SUFFIX. */
export function isOrderedRequestId(rid: string): boolean {
  const n = rid.length;
  return n > 2 && rid.charCodeAt(n - 1) === 111 /* o */ && rid.charCodeAt(n - 2) === 47 /* / */;
}
