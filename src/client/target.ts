/** Where a client connects: a TCP gateway (Node) or a WebSocket URL (Node and browsers). */
export type GatewayTarget = { readonly kind: "tcp"; readonly host: string; readonly port: number } | { readonly kind: "ws"; readonly url: string };

/** "127.0.0.1:3250" or the WebSocket URL, for messages. */
export function describeTarget(t: GatewayTarget): string {
  return t.kind === "tcp" ? `${t.host}:${t.port}` : t.url;
}

/** True for a ws:// or wss:// URL. */
export function isWebSocketUrl(url: string): boolean {
  return /^wss?:\/\//i.test(url);
}
