import { SwitchyardError } from "../bus/errors.js";
import type { GatewayTarget } from "./target.js";

/** A gateway as the gate describes it. */
export interface GateAnswer {
  /** Gateway id. */
  id: string;
  /** TCP address, when the gateway listens on TCP. */
  tcp: { host: string; port: number } | null;
  /** WebSocket URL, when the gateway serves WebSocket. */
  ws: string | null;
}

/** Asks the gate (`GET /gate`) which gateway to use. Uses the runtime's global fetch. */
export async function askGate(gateUrl: string, timeoutMs: number): Promise<GateAnswer> {
  let res: Response;
  try {
    res = await fetch(gateUrl, timeoutMs > 0 ? { signal: AbortSignal.timeout(timeoutMs) } : {});
  } catch (err) {
    throw new SwitchyardError("UNAVAILABLE", `cannot reach the gate at ${gateUrl}: ${(err as Error).message}; is the cluster running (npm start)?`, { cause: err });
  }
  if (!res.ok) {
    const text = await res.text().catch(() => "");
    throw new SwitchyardError("UNAVAILABLE", `the gate at ${gateUrl} answered HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ""}; retry in a moment`);
  }
  return parseGateAnswer(await res.json(), gateUrl);
}

/** Reads the gate's JSON, refusing an answer without any usable address. */
export function parseGateAnswer(json: unknown, gateUrl: string): GateAnswer {
  const o = (json ?? {}) as Record<string, unknown>;
  const tcpRaw = o.tcp as Record<string, unknown> | undefined;
  const tcp = tcpRaw && typeof tcpRaw.host === "string" && typeof tcpRaw.port === "number" ? { host: tcpRaw.host, port: tcpRaw.port } : null;
  const ws = typeof o.ws === "string" ? o.ws : null;
  if (tcp === null && ws === null) {
    throw new SwitchyardError("UNAVAILABLE", `the gate at ${gateUrl} named no gateway address (got ${JSON.stringify(json).slice(0, 200)}); is any gateway up?`);
  }
  return { id: typeof o.id === "string" ? o.id : "", tcp, ws };
}

/** The address to use of a gate's answer: the preferred transport when the gateway has it. */
export function targetOfGate(answer: GateAnswer, prefer: "tcp" | "ws", gateUrl: string): GatewayTarget {
  if (prefer === "ws" && answer.ws !== null) return { kind: "ws", url: answer.ws };
  if (prefer === "tcp" && answer.tcp !== null) return { kind: "tcp", ...answer.tcp };
  if (prefer === "ws") throw new SwitchyardError("UNAVAILABLE", `the gate at ${gateUrl} named gateway ${answer.id} without a WebSocket address: give it a wsPort`);
  return { kind: "ws", url: answer.ws! };
}
