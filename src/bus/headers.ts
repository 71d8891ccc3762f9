/**
 * Header names carried on NATS messages. Session headers are stamped by the gateway only;
 * modules never take identity from a request body.
 */
export const Header = {
  /** Gateway that holds the client's connection. */
  gateway: "sy-gw",
  /** Session id, unique within its gateway. */
  session: "sy-sid",
  /** Bound user id; absent before login. */
  uid: "sy-uid",
  /** The client's IP address as its gateway's socket saw it (stamped with the session headers). */
  address: "sy-addr",
  /** Request id for logs, unique in the cluster: "<requester>-<token>". */
  requestId: "sy-rid",
  /** Error code number (wire.ErrorCode) on a failed reply. */
  errorCode: "sy-err",
  /** Error message on a failed reply. */
  errorMessage: "sy-msg",
  /** On a trusted call (`mod.*` subjects only): the calling "<module>/<instanceId>", or "ctl/<id>". */
  caller: "sy-caller",
  /** On a reply: pin the session's later requests to this module to the given instance ("" unpins). */
  pin: "sy-pin",
  /**
   * On a reply to an ordered request (see ordered-requests.ts): the instance that answered, to
   * which the gateway may send the session's next requests straight away; "" when it drains.
   */
  instance: "sy-inst",
  /** W3C Trace Context of the request (gateway → module → module); see src/tracing. */
  traceparent: "traceparent",
} as const;
export type Header = (typeof Header)[keyof typeof Header];
