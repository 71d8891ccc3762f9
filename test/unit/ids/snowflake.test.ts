import { describe, expect, it } from "vitest";
import { SNOWFLAKE_EPOCH_MS, SnowflakeGenerator, decodeSnowflake } from "../../../src/ids/index.js";

describe("SnowflakeGenerator", () => {
  it("encodes time, worker id and sequence, and decodes them back", () => {
    const t = SNOWFLAKE_EPOCH_MS + 123_456_789;
    const gen = new SnowflakeGenerator(513, () => undefined, () => t);
    const [a, b] = [gen.next(), gen.next()];
    expect(decodeSnowflake(a)).toEqual({ timestampMs: t, workerId: 513, sequence: 0 });
    expect(decodeSnowflake(b)).toEqual({ timestampMs: t, workerId: 513, sequence: 1 });
    expect(a).toBe(((123_456_789n << 22n) | (513n << 12n)).toString());
  });

  it("ids of one worker strictly increase, also past 4,096 in one millisecond (it waits for the next)", () => {
    let now = SNOWFLAKE_EPOCH_MS + 1_000;
    let calls = 0;
    // the clock advances only after many reads, so the 4,097th id must wait for it
    const gen = new SnowflakeGenerator(1, () => undefined, () => (++calls % 5_000 === 0 ? ++now : now));
    const ids = Array.from({ length: 10_000 }, () => BigInt(gen.next()));
    expect(ids.findIndex((id, i) => i > 0 && id <= ids[i - 1]!)).toBe(-1);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("two workers never collide in the same millisecond", () => {
    const t = SNOWFLAKE_EPOCH_MS + 5;
    const [g1, g2] = [new SnowflakeGenerator(1, undefined, () => t), new SnowflakeGenerator(2, undefined, () => t)];
    const ids = new Set<string>();
    for (let i = 0; i < 1_000; i++) ids.add(g1.next()).add(g2.next());
    expect(ids.size).toBe(2_000);
  });

  it("a small clock step back keeps counting; a large one refuses with UNAVAILABLE", () => {
    let now = SNOWFLAKE_EPOCH_MS + 100_000;
    const gen = new SnowflakeGenerator(3, undefined, () => now);
    const first = BigInt(gen.next());
    now -= 1_000;
    expect(BigInt(gen.next()) > first).toBe(true);
    now -= 10_000;
    expect(() => gen.next()).toThrow(/clock went back/);
  });

  it("refuses when its check throws (a lost lease), and rejects bad worker ids and non-ids", () => {
    const gen = new SnowflakeGenerator(0, () => {
      throw new Error("lease lost");
    });
    expect(() => gen.next()).toThrow("lease lost");
    expect(() => new SnowflakeGenerator(1024)).toThrow(RangeError);
    expect(decodeSnowflake("12ab")).toBeNull();
    expect(decodeSnowflake("18446744073709551615")).toBeNull();
  });
});
