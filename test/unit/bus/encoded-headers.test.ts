import { describe, expect, it } from "vitest";
import { headers as natsHeaders, type MsgHdrs } from "nats";
import { HeaderTemplate } from "../../../src/bus/encoded-headers.js";

function encodeOf(h: MsgHdrs): string {
  return Buffer.from((h as unknown as { encode(): Uint8Array }).encode()).toString("utf8");
}

describe("HeaderTemplate", () => {
  it("gives the bytes nats.js would encode for the same headers", () => {
    const t = new HeaderTemplate([["sy-gw", "gw-1"], ["sy-sid", "42"], ["sy-uid", "ü-7"]], "sy-rid");
    for (const rid of ["gw-1-abc-1", "x", "gw-1-abcdef-zzzzzz"]) {
      const h = natsHeaders();
      h.set("sy-gw", "gw-1");
      h.set("sy-sid", "42");
      h.set("sy-uid", "ü-7");
      h.set("sy-rid", rid);
      expect(encodeOf(t.with(rid))).toBe(encodeOf(h));
    }
  });

  it("each message gets its own bytes", () => {
    const t = new HeaderTemplate([["sy-gw", "gw-1"]], "sy-rid");
    const a = t.with("a-1");
    const b = t.with("b-2");
    expect(encodeOf(a)).toContain("sy-rid: a-1");
    expect(encodeOf(b)).toContain("sy-rid: b-2");
  });
});
