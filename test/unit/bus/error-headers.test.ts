import { describe, expect, it } from "vitest";
import { headers as natsHeaders } from "nats";
import { errorHeaders, errorOfReply, readErrorReply } from "../../../src/bus/error-headers.js";
import { Header } from "../../../src/bus/headers.js";
import { DEFAULT_MESSAGES, ErrorCode, SwitchyardError } from "../../../src/protocol/errors.js";

describe("error reply headers", () => {
  it("round-trips code and message", () => {
    const h = errorHeaders(new SwitchyardError("CONFLICT", "team t1 is full"));
    expect(h.get(Header.errorCode)).toBe(String(ErrorCode.CONFLICT));
    expect(readErrorReply(h)).toEqual({ code: ErrorCode.CONFLICT, message: "team t1 is full" });
    const rebuilt = errorOfReply(h);
    expect(rebuilt).toBeInstanceOf(SwitchyardError);
    expect([rebuilt?.code, rebuilt?.message]).toEqual(["CONFLICT", "team t1 is full"]);
  });

  it("sends a replacement message when one is given", () => {
    expect(readErrorReply(errorHeaders(new SwitchyardError("INTERNAL", "hidden"), "disk full"))).toEqual({ code: ErrorCode.INTERNAL, message: "disk full" });
  });

  it("reads no error from a successful reply, with or without headers", () => {
    const pinOnly = natsHeaders();
    pinOnly.set(Header.pin, "game-1");
    expect(readErrorReply(undefined)).toBeNull();
    expect(readErrorReply(pinOnly)).toBeNull();
    expect(errorOfReply(pinOnly)).toBeNull();
  });

  it("gives the code's default message when the reply has none", () => {
    const h = natsHeaders();
    h.set(Header.errorCode, String(ErrorCode.UNAVAILABLE));
    expect(errorOfReply(h)?.message).toBe(DEFAULT_MESSAGES.UNAVAILABLE);
  });
});
