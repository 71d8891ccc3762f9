import { describe, expect, it } from "vitest";
import { movedResends, unread, type SentNotify } from "../../../src/client/move-resend.js";
import type { TakenRequest } from "../../../src/client/pending-requests.js";

const req = (id: number, sent: number): TakenRequest => ({ id, sent, route: "echo.Echo", body: Uint8Array.of(id), deadline: Infinity, timeoutMs: 0, resolve: () => undefined, reject: () => undefined });
const note = (n: number): SentNotify => ({ n, route: "chat.Say", body: Uint8Array.of(n) });
const shape = (xs: ReturnType<typeof movedResends>) => xs.map((x) => (x.kind === "request" ? `r${x.request.id}` : `n${x.body[0]}`));

describe("movedResends (what a KICK MOVED makes the SDK send again)", () => {
  it("resends the NOTIFYs after the read count and every unanswered request, merged in send order", () => {
    // packets 1..8: n1 r(2) n3 r(4) n5 r(6) n7 n8; the gateway read 5
    const out = movedResends(5, [req(2, 2), req(4, 4), req(6, 6)], [note(1), note(3), note(5), note(7), note(8)]);
    // n1, n3, n5 were read: not sent again. r2 and r4 sit before the read count but got no
    // answer (a gateway answers what it read before it moves a client, so this does not happen):
    // they are still sent again, after the numbered ones
    expect(shape(out)).toEqual(["r6", "n7", "n8", "r2", "r4"]);
  });

  it("orders across the uint32 wrap of packet numbers", () => {
    const max = 0xffff_ffff;
    expect(unread(1, max)).toBe(true);
    expect(unread(max, 1)).toBe(false);
    const out = movedResends(max - 1, [req(9, 1)], [note(max), note(max - 1)]);
    expect(shape(out)).toEqual([`n${max & 0xff}`, "r9"]);
  });

  it("requests of unknown number (sent before any connection) go last, in their order", () => {
    const out = movedResends(0, [req(1, 0), req(2, 3), req(3, 0)], [note(1)]);
    expect(shape(out)).toEqual(["n1", "r2", "r1", "r3"]);
  });
});
