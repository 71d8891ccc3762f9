import type { GatewayTarget } from "./target.js";

/** The gateway a KICK sends this client to, or null when the KICK carries no address. */
export function redirectTarget(_code: number, _message: string): GatewayTarget | null {
  return null;
}
