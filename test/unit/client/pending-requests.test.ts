import { afterEach, describe, expect, it, vi } from "vitest";
import { SwitchyardError } from "../../../src/protocol/errors.js";
import { MAX_REQUEST_ID, PendingRequests } from "../../../src/client/pending-requests.js";

describe("PendingRequests ids", () => {
  it("counts up from 1", () => {
    const p = new PendingRequests();
    expect([p.nextId(), p.nextId(), p.nextId()]).toEqual([1, 2, 3]);
  });

  it("wraps from 2^32-1 to 1, never yielding 0", () => {
    const p = new PendingRequests(MAX_REQUEST_ID - 2);
    expect([p.nextId(), p.nextId(), p.nextId(), p.nextId()]).toEqual([MAX_REQUEST_ID - 1, MAX_REQUEST_ID, 1, 2]);
  });

  it("skips ids still in flight after a wrap", () => {
    const p = new PendingRequests();
    void p.add(p.nextId(), "echo.Echo", 0); // 1 stays in flight
    void p.add(p.nextId(), "echo.Echo", 0); // 2 stays in flight
    const wrapped = new PendingRequests(MAX_REQUEST_ID - 1);
    expect(wrapped.nextId()).toBe(MAX_REQUEST_ID);
    // Same table, with the counter moved to the top: the next ids are 3, 4 (1 and 2 are busy).
    const q = new PendingRequests(MAX_REQUEST_ID);
    void q.add(1, "echo.Echo", 0);
    void q.add(2, "echo.Echo", 0);
    expect([q.nextId(), q.nextId()]).toEqual([3, 4]);
  });
});

describe("PendingRequests settle", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("resolves by id and forgets the request", async () => {
    const p = new PendingRequests();
    const id = p.nextId();
    const reply = p.add(id, "echo.Echo", 1000);
    expect(p.size).toBe(1);
    expect(p.resolve(id, new Uint8Array([7]))).toBe(true);
    await expect(reply).resolves.toEqual(new Uint8Array([7]));
    expect(p.size).toBe(0);
    expect(p.resolve(id, new Uint8Array())).toBe(false);
  });

  it("rejects by id with the given error", async () => {
    const p = new PendingRequests();
    const id = p.nextId();
    const reply = p.add(id, "echo.Echo", 1000);
    p.reject(id, new SwitchyardError("NOT_FOUND", "nope"));
    await expect(reply).rejects.toMatchObject({ code: "NOT_FOUND", message: "nope" });
  });

  it("rejects every request on rejectAll", async () => {
    const p = new PendingRequests();
    const replies = [1, 2, 3].map(() => p.add(p.nextId(), "echo.Sleep", 1000));
    p.rejectAll((route) => new SwitchyardError("UNAVAILABLE", `connection closed: x (${route})`));
    for (const r of replies) await expect(r).rejects.toMatchObject({ code: "UNAVAILABLE", message: "connection closed: x (echo.Sleep)" });
    expect(p.size).toBe(0);
  });

  it("times requests out with one shared timer, naming route and id", async () => {
    vi.useFakeTimers();
    const p = new PendingRequests();
    const fast = p.add(p.nextId(), "echo.Sleep", 50);
    const slow = p.add(p.nextId(), "echo.Echo", 200);
    const never = p.add(p.nextId(), "echo.WhoAmI", 0);
    const fastErr = fast.catch((e: unknown) => e);
    const slowErr = slow.catch((e: unknown) => e);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(60);
    expect(await fastErr).toMatchObject({ code: "TIMEOUT", message: expect.stringContaining("echo.Sleep (request id 1) within 50 ms") });
    expect(p.size).toBe(2);
    await vi.advanceTimersByTimeAsync(200);
    expect(await slowErr).toMatchObject({ code: "TIMEOUT" });
    expect(p.size).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    p.resolve(3, new Uint8Array());
    await expect(never).resolves.toEqual(new Uint8Array());
  });

  it("a late reply after a timeout is ignored", async () => {
    vi.useFakeTimers();
    const p = new PendingRequests();
    const id = p.nextId();
    const r = p.add(id, "echo.Echo", 10).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(20);
    expect(await r).toBeInstanceOf(SwitchyardError);
    expect(p.resolve(id, new Uint8Array())).toBe(false);
  });
});

describe("PendingRequests takeAll / readd (gateway move)", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("takes every waiting request in send order with its body, then settles them again once re-added", async () => {
    const p = new PendingRequests();
    const bodies = [Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)];
    const replies = bodies.map((b) => p.add(p.nextId(), "echo.Echo", 0, b));
    const taken = p.takeAll();
    expect(p.size).toBe(0);
    expect(taken.map((t) => [t.id, t.route, t.body])).toEqual([
      [1, "echo.Echo", bodies[0]],
      [2, "echo.Echo", bodies[1]],
      [3, "echo.Echo", bodies[2]],
    ]);
    // taken ones are not answered by a late reply under their id
    expect(p.resolve(2, Uint8Array.of(9))).toBe(false);
    for (const t of taken) expect(p.readd(t)).toBe(true);
    expect(p.size).toBe(3);
    for (const [i, id] of [3, 1, 2].entries()) p.resolve(id, Uint8Array.of(10 + i));
    expect(await Promise.all(replies)).toEqual([Uint8Array.of(11), Uint8Array.of(12), Uint8Array.of(10)]);
  });

  it("keeps the original deadline: no timeout while taken, TIMEOUT at once when re-added past it", async () => {
    vi.useFakeTimers();
    vi.setSystemTime(1_000);
    const p = new PendingRequests();
    const reply = p.add(p.nextId(), "echo.Echo", 100, Uint8Array.of(1));
    const outcome = reply.then(
      () => "resolved",
      (err: SwitchyardError) => err.code,
    );
    const [t] = p.takeAll();
    await vi.advanceTimersByTimeAsync(500);
    // still pending while taken
    expect(await Promise.race([outcome, Promise.resolve("pending")])).toBe("pending");
    expect(p.readd(t!)).toBe(true);
    expect(await outcome).toBe("TIMEOUT");
    expect(p.size).toBe(0);
  });

  it("a re-added request whose id was taken meanwhile fails INTERNAL instead of answering the wrong caller", async () => {
    const p = new PendingRequests();
    const first = p.add(p.nextId(), "echo.Echo", 0, Uint8Array.of(1));
    const [t] = p.takeAll();
    void p.add(1, "login.Resume", 0);
    expect(p.readd(t!)).toBe(false);
    await expect(first).rejects.toMatchObject({ code: "INTERNAL" });
  });
});
