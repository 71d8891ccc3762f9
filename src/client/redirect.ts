import { isWebSocketUrl, type GatewayTarget } from "./target.js";

/**
 * The gateway a KICK's `redirect` field names: a ws:// or wss:// URL (WebSocket) or
 * "host:port" (TCP; "[v6]:port" for IPv6). Null when it is empty or unreadable.
 */
export function redirectTarget(redirect: string): GatewayTarget | null {
  if (redirect === "") return null;
  if (isWebSocketUrl(redirect)) return { kind: "ws", url: redirect };
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(redirect);
  if (m === null) return null;
  const port = Number(m[2]);
  return port > 0 && port <= 65535 ? { kind: "tcp", host: m[1]!, port } : null;
}
