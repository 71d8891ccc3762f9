import { describe, expect, it } from "vitest";
import { SwitchyardError } from "../../../src/protocol/errors.js";
import { parseGateAnswer, targetOfGate } from "../../../src/client/gate.js";

const GATE = "http://127.0.0.1:3251/gate";
const both = { id: "gw-2", tcp: { host: "127.0.0.1", port: 3252, tls: false }, ws: "ws://127.0.0.1:3253/ws" };

describe("the gate's answer", () => {
  it("picks the TCP address or the WebSocket URL", () => {
    const answer = parseGateAnswer(both, GATE);
    expect(targetOfGate(answer, "tcp", GATE)).toEqual({ kind: "tcp", host: "127.0.0.1", port: 3252 });
    expect(targetOfGate(answer, "ws", GATE)).toEqual({ kind: "ws", url: "ws://127.0.0.1:3253/ws" });
  });

  it("a gateway without a WebSocket port cannot serve a WebSocket client; one without TCP falls back to WebSocket", () => {
    expect(() => targetOfGate(parseGateAnswer({ ...both, ws: null }, GATE), "ws", GATE)).toThrow(/named gateway gw-2 without a WebSocket address: give it a wsPort/);
    expect(targetOfGate(parseGateAnswer({ id: "gw-3", ws: "ws://h:1/ws" }, GATE), "tcp", GATE)).toEqual({ kind: "ws", url: "ws://h:1/ws" });
  });

  it("an answer without any address is UNAVAILABLE, quoting it", () => {
    const err = (() => {
      try {
        parseGateAnswer({ code: "UNAVAILABLE" }, GATE);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SwitchyardError);
    expect(err).toMatchObject({ code: "UNAVAILABLE", message: `the gate at ${GATE} named no gateway address (got {"code":"UNAVAILABLE"}); is any gateway up?` });
  });
});
