import { SwitchyardError } from "../protocol/errors.js";
import type { Client } from "../client/index.js";
import type { MessageCodec, ProtoRegistry, RouteCodec } from "../proto/registry.js";

/**
 * Text in, text out for the `client` CLI and REPL: routes and JSON become encoded requests,
 * replies and pushes become JSON (bytes as base64), failures become `CODE: message`.
 */

/** Codecs of a route, or BAD_REQUEST naming the route and listing the known ones. */
export function routeCodec(registry: ProtoRegistry, route: string): RouteCodec<object, object> {
  const codec = registry.route<object, object>(route);
  if (codec !== null) return codec;
  const known = registry.routes();
  throw new SwitchyardError(
    "BAD_REQUEST",
    `unknown route "${route}": no service in ${registry.dir} declares it` +
      (known.length > 0 ? ` (known routes: ${known.join(", ")})` : "") +
      "; routes are \"<module>.<Method>\"",
  );
}

/** Parses `text` as JSON and builds a `codec` message from it; BAD_REQUEST on bad JSON or unknown fields. */
export function messageFromJsonText<T>(codec: MessageCodec<T>, text: string): T {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new SwitchyardError("BAD_REQUEST", `the ${codec.typeName} argument is not valid JSON (${(err as Error).message}): ${text}`, { cause: err });
  }
  return codec.fromJson(obj);
}

/** A message as indented JSON text (defaults included, bytes as base64). */
export function messageToJsonText<T>(codec: MessageCodec<T>, msg: T): string {
  return JSON.stringify(codec.toJson(msg), null, 2);
}

/** Calls `route` with a JSON request and resolves with the reply as JSON text. */
export async function callWithJson(client: Client, route: string, jsonText: string): Promise<string> {
  const codec = routeCodec(client.registry, route);
  const req = messageFromJsonText(codec.request, jsonText);
  const reply = await client.requestRaw(route, codec.request.encode(req));
  return messageToJsonText(codec.response, codec.response.decode(reply));
}

/** One line per route: name, request type and reply type, aligned. */
export function formatRoutes(registry: ProtoRegistry): string {
  const rows = registry.routes().map((route) => {
    const c = registry.route(route)!;
    return [route, c.request.typeName, c.response.typeName] as const;
  });
  const w0 = Math.max(5, ...rows.map((r) => r[0].length));
  const w1 = Math.max(7, ...rows.map((r) => r[1].length));
  const lines = rows.map(([r, req, res]) => `${r.padEnd(w0)}  ${req.padEnd(w1)}  -> ${res}`);
  return [`${"ROUTE".padEnd(w0)}  ${"REQUEST".padEnd(w1)}     REPLY`, ...lines].join("\n");
}

/** `CODE: message` for a SwitchyardError, `INTERNAL: message` for anything else. */
export function errorLine(err: unknown): string {
  if (err instanceof SwitchyardError) return `${err.code}: ${err.message}`;
  return `INTERNAL: ${err instanceof Error ? err.message : String(err)}`;
}
