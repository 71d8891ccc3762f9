import { describe, expect, it } from "vitest";
import { SwitchyardError } from "../../../src/protocol/errors.js";
import { errorLine, formatRoutes, messageFromJsonText, messageToJsonText, routeCodec } from "../../../src/cli/client-text.js";
import { loadProto } from "../../../src/proto/registry.js";

/** JSON ↔ message conversion used by `switchyard client call` and the REPL. */
const registry = loadProto();
const echo = routeCodec(registry, "echo.Echo");

function failure(fn: () => unknown): SwitchyardError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SwitchyardError) return err;
    throw err;
  }
  throw new Error("expected a SwitchyardError");
}

describe("client JSON conversion", () => {
  it("builds a request from JSON and prints the reply with defaults and base64 bytes", () => {
    const msg = messageFromJsonText(echo.request, '{"text":"hi","data":"AQID"}');
    const back = echo.response.decode(echo.request.encode(msg));
    expect(JSON.parse(messageToJsonText(echo.response, back))).toEqual({ text: "hi", data: "AQID", servedBy: "", version: "" });
  });

  it("names the unknown field and lists the real ones", () => {
    const err = failure(() => messageFromJsonText(echo.request, '{"txt":"hi"}'));
    expect(err.code).toBe("BAD_REQUEST");
    expect(err.message).toContain('echo.EchoMessage has no field "txt"');
    expect(err.message).toContain("text");
  });

  it("rejects text that is not JSON, quoting it", () => {
    const err = failure(() => messageFromJsonText(echo.request, "{text: hi}"));
    expect(err.code).toBe("BAD_REQUEST");
    expect(err.message).toMatch(/^the echo.EchoMessage argument is not valid JSON \(.*\): \{text: hi\}$/);
  });

  it("rejects JSON that is not an object", () => {
    expect(failure(() => messageFromJsonText(echo.request, "[1]")).message).toContain("expected a JSON object for echo.EchoMessage");
  });

  it("rejects an unknown route, listing the known ones", () => {
    const err = failure(() => routeCodec(registry, "echo.Ech"));
    expect(err.code).toBe("BAD_REQUEST");
    expect(err.message).toContain('unknown route "echo.Ech"');
    expect(err.message).toContain("echo.Echo");
  });

  it("lists every route with its request and reply types", () => {
    const text = formatRoutes(registry);
    for (const route of registry.routes()) expect(text).toMatch(new RegExp(`^${route.replace(".", "\\.")}\\s`, "m"));
    expect(text).toMatch(/^echo\.Echo\s+echo\.EchoMessage\s+-> echo\.EchoMessage$/m);
    expect(text).toMatch(/^login\.Login\s+login\.LoginRequest\s+-> login\.LoginReply$/m);
  });

  it("formats failures as CODE: message", () => {
    expect(errorLine(new SwitchyardError("TIMEOUT", "slow"))).toBe("TIMEOUT: slow");
    expect(errorLine(new Error("boom"))).toBe("INTERNAL: boom");
  });
});
