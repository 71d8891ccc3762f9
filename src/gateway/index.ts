export { createGateway, type Gateway, type GatewayOptions } from "./gateway.js";
export { ChannelHub, checkChannelName } from "./channels.js";
export { CommandHandler, type CommandCodecs, type CommandTarget } from "./commands.js";
export { Forwarder, type ForwarderSettings, type ForwarderStats } from "./forwarder.js";
export { RateLimiter, RateVerdict, ABUSE_FACTOR, ABUSE_WINDOW_MS } from "./rate-limit.js";
export { RouteCache, DEFAULT_ROUTE_CACHE_SIZE, type RouteInfo } from "./route-cache.js";
export { Session, type SessionHost, type SessionLimits } from "./session.js";
export { SessionTable, type TableEntry } from "./session-table.js";
export { SocketWriter, WriteScheduler, type WritableSocket } from "./socket-writer.js";
