import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ScriptKinds } from "../../../src/redis/write-tracking.js";

const sha = (s: string): string => createHash("sha1").update(s).digest("hex");

describe("which Redis commands count as writes (the ones a request's WAIT must cover)", () => {
  it("follows the write flag of Redis' command table; unknown commands count as writes", () => {
    const kinds = new ScriptKinds();
    for (const name of ["set", "ZADD", "hset", "del", "incr", "expire", "rename"]) expect(kinds.mayWrite(name, []), name).toBe(true);
    for (const name of ["get", "ZREVRANGE", "hget", "info", "wait", "client", "exec", "evalsha_ro"]) expect(kinds.mayWrite(name, []), name).toBe(false);
    expect(kinds.mayWrite("not-a-command", [])).toBe(true);
  });

  it("a script is a read when every call names a read command literally; EVALSHA of a script seen through EVAL inherits that", () => {
    const kinds = new ScriptKinds();
    const read = "local s = redis.call('GET', KEYS[1]) return redis.call(\"ZREVRANGE\", KEYS[2], 0, 9)";
    const write = "redis.call('GET', KEYS[1]) redis.pcall('ZADD', KEYS[2], 1, 'm')";
    const dynamic = "return redis.call(ARGV[1], KEYS[1])";
    expect(kinds.mayWrite("eval", [read, 2])).toBe(false);
    expect(kinds.mayWrite("eval", [write, 2])).toBe(true);
    expect(kinds.mayWrite("eval", [dynamic, 1])).toBe(true);
    expect(kinds.mayWrite("evalsha", [sha(read), 2])).toBe(false);
    expect(kinds.mayWrite("evalsha", [sha(write), 2])).toBe(true);
    expect(kinds.mayWrite("evalsha", [sha("never seen"), 0])).toBe(true);
    expect(kinds.mayWrite("fcall", ["f", 0])).toBe(true);
  });
});
