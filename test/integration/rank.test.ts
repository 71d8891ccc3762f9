import { trustedServiceSubject } from "../../src/bus/subjects.js";
import { trustedCallHeaders } from "../../src/module/runtime.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect as natsConnect, type NatsConnection } from "nats";
import type { Client } from "../../src/client/index.js";
import { ReplyMux } from "../../src/bus/reply-mux.js";
import { rank } from "../../src/generated/proto.js";
import { loadProto } from "../../src/proto/registry.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import loginModule from "../../modules/login/index.js";
import rankModule from "../../modules/rank/index.js";
import { failure } from "../helpers/failure.js";
import { freshUser } from "../helpers/users.js";

const ranksOf = (l: rank.EntryList) => l.entries.map((e) => e.rank);
const namesOf = (l: rank.EntryList) => l.entries.map((e) => e.username);

const OPEN = { min: 0, max: 2 ** 53 };
/** The boards of the tests: "tictactoe" as shipped (modules only), the others open to clients. */
const BOARDS = {
  tictactoe: "accumulate",
  acc: { policy: "accumulate", clientSubmit: OPEN },
  "acc-ties": { policy: "accumulate", clientSubmit: OPEN },
  "acc-race": { policy: "accumulate", clientSubmit: OPEN },
  bounded: { policy: "best", clientSubmit: { min: -10, max: 1000 } },
  ...Object.fromEntries(["arena", "ties", "around", "race", "seasonal", "self", "empty"].map((b) => [b, { policy: "best", clientSubmit: OPEN }])),
};

describe("rank module through a real gateway (2 rank instances, 2 login instances, 2 gateways)", () => {
  let cluster: TestCluster;
  let nc: NatsConnection;
  let mux: ReplyMux;
  const registry = loadProto();
  /** A fresh logged-in player on gateway 0 or 1. */
  const player = (prefix: string) => freshUser(cluster, prefix);

  /** Calls a rank route from inside the cluster (no client session), as another module or ctl does. */
  async function internal<Req, Res>(method: string, req: Partial<Req>): Promise<Res> {
    const codec = registry.route<Req, Res>(`rank.${method}`)!;
    const reply = await mux.request(trustedServiceSubject("rank", method), codec.request.encode(req), trustedCallHeaders("ctl/test", null, null));
    return codec.response.decode(reply.data);
  }

  beforeAll(async () => {
    cluster = await startTestCluster({
      modules: [
        { def: loginModule, instances: 2 },
        { def: rankModule, instances: 2 },
      ],
      gateways: 2,
      config: {
        modules: {
          login: { instances: 2, settings: { scryptN: 1024 } },
          rank: { instances: 2, settings: { boards: BOARDS } },
        },
      },
    });
    nc = await natsConnect({ servers: cluster.nats.url });
    mux = new ReplyMux(nc, "test-rank");
  });

  afterAll(async () => {
    mux?.close();
    await nc?.close();
    await cluster?.stop();
  });

  it("keeps the best score on a best board and reports rank and score with Me", async () => {
    const a = await player("best");
    const first = await a.client.request("rank.Submit", { board: "arena", score: 100 });
    expect(first).toMatchObject({ score: 100, rank: 1, changed: true, policy: rank.Policy.POLICY_BEST, season: 1 });
    const lower = await a.client.request("rank.Submit", { board: "arena", score: 50 });
    expect(lower).toMatchObject({ score: 100, rank: 1, changed: false });
    const higher = await a.client.request("rank.Submit", { board: "arena", score: 150.25 });
    expect(higher).toMatchObject({ score: 150.25, changed: true });
    const me = await a.client.request("rank.Me", { board: "arena" });
    expect(me).toMatchObject({ rank: 1, uid: a.uid, score: 150.25, username: a.name, season: 1 });
  });

  it("accumulates on a board configured as accumulate, exactly, whatever the magnitude", async () => {
    const a = await player("acc");
    await a.client.request("rank.Submit", { board: "acc", score: 3 });
    const r = await a.client.request("rank.Submit", { board: "acc", score: 4 });
    expect(r).toMatchObject({ score: 7, changed: true, policy: rank.Policy.POLICY_ACCUMULATE });
    const big = await a.client.request("rank.Submit", { board: "acc", score: 2 ** 52 });
    expect(big.score).toBe(2 ** 52 + 7);
    expect((await a.client.request("rank.Me", { board: "acc" })).score).toBe(2 ** 52 + 7);
  });

  it("Me on a board where the player has no score: rank 0, score 0", async () => {
    const a = await player("absent");
    expect(await a.client.request("rank.Me", { board: "empty" })).toMatchObject({ rank: 0, score: 0, uid: a.uid });
  });

  it("breaks ties by who got there first; Top carries usernames and the total", async () => {
    const [a, b, c] = [await player("tie"), await player("tie"), await player("tie")];
    await a.client.request("rank.Submit", { board: "ties", score: 10 });
    await b.client.request("rank.Submit", { board: "ties", score: 10 });
    await c.client.request("rank.Submit", { board: "ties", score: 20 });
    // a submitting the same score again changes nothing: a keeps the earlier place
    expect((await a.client.request("rank.Submit", { board: "ties", score: 10 })).changed).toBe(false);
    const top = await b.client.request("rank.Top", { board: "ties" });
    expect(namesOf(top)).toEqual([c.name, a.name, b.name]);
    expect(ranksOf(top)).toEqual([1, 2, 3]);
    expect(top.entries.map((e) => e.score)).toEqual([20, 10, 10]);
    expect(top).toMatchObject({ total: 3, season: 1 });
    expect((await b.client.request("rank.Me", { board: "ties" })).rank).toBe(3);
    // b reaching a new best later than nobody else: b passes a and c
    await b.client.request("rank.Submit", { board: "ties", score: 20 });
    expect(namesOf(await a.client.request("rank.Top", { board: "ties", n: 2 }))).toEqual([c.name, b.name]);
  });

  it("ties on an accumulate board: the first to reach the total ranks higher", async () => {
    const [a, b] = [await player("acctie"), await player("acctie")];
    await a.client.request("rank.Submit", { board: "acc-ties", score: 3 });
    await b.client.request("rank.Submit", { board: "acc-ties", score: 5 });
    expect((await a.client.request("rank.Submit", { board: "acc-ties", score: 2 })).score).toBe(5);
    // a started first, but b reached 5 first
    expect(namesOf(await a.client.request("rank.Top", { board: "acc-ties" }))).toEqual([b.name, a.name]);
  });

  it("Around returns the k above and below me, clipped at the top of the board", async () => {
    const players = [];
    for (let i = 1; i <= 9; i++) players.push(await player("around"));
    await Promise.all(players.map((p, i) => p.client.request("rank.Submit", { board: "around", score: (i + 1) * 10 })));
    // scores 10..90: players[8] is rank 1, players[4] (50) is rank 5
    const mid = await players[4]!.client.request("rank.Around", { board: "around", k: 2 });
    expect(ranksOf(mid)).toEqual([3, 4, 5, 6, 7]);
    expect(mid.entries.map((e) => e.score)).toEqual([70, 60, 50, 40, 30]);
    expect(mid.entries[2]!.uid).toBe(players[4]!.uid);
    expect(mid.total).toBe(9);
    expect(ranksOf(await players[8]!.client.request("rank.Around", { board: "around", k: 2 }))).toEqual([1, 2, 3]);
    expect(ranksOf(await players[0]!.client.request("rank.Around", { board: "around" }))).toEqual([4, 5, 6, 7, 8, 9]);
    const outsider = await player("around-out");
    expect((await outsider.client.request("rank.Around", { board: "around", k: 2 })).entries).toEqual([]);
  });

  it("submits are atomic: 40 concurrent submits through both instances keep the maximum / lose no increment", async () => {
    const a = await player("race");
    const scores = Array.from({ length: 40 }, (_, i) => ((i * 7919) % 40) + 1);
    await Promise.all(scores.map((score) => a.client.request("rank.Submit", { board: "race", score })));
    expect((await a.client.request("rank.Me", { board: "race" })).score).toBe(40);
    // accumulate loses no increment either
    await Promise.all(scores.map(() => a.client.request("rank.Submit", { board: "acc-race", score: 1 })));
    expect((await a.client.request("rank.Me", { board: "acc-race" })).score).toBe(40);
  });

  it("season reset: only admins or modules may reset; the previous season stays readable", async () => {
    const [a, b] = [await player("season"), await player("season")];
    await a.client.request("rank.Submit", { board: "seasonal", score: 5 });
    await b.client.request("rank.Submit", { board: "seasonal", score: 9 });
    const denied = await failure(a.client.request("rank.ResetSeason", { board: "seasonal" }));
    expect(denied.code).toBe("FORBIDDEN");
    expect(denied.message).toContain("admins");

    const before = await a.client.request("rank.Top", { board: "seasonal", season: rank.Season.SEASON_PREVIOUS });
    expect(before).toMatchObject({ entries: [], season: 0, total: 0 });

    const reset = await internal<rank.ResetSeasonRequest, rank.ResetSeasonReply>("ResetSeason", { board: "seasonal" });
    expect(reset).toMatchObject({ closedSeason: 1, season: 2 });

    const current = await a.client.request("rank.Top", { board: "seasonal" });
    expect(current).toMatchObject({ entries: [], season: 2, total: 0 });
    const previous = await a.client.request("rank.Top", { board: "seasonal", season: rank.Season.SEASON_PREVIOUS });
    expect(previous.season).toBe(1);
    expect(namesOf(previous)).toEqual([b.name, a.name]);
    expect(await a.client.request("rank.Me", { board: "seasonal", season: rank.Season.SEASON_PREVIOUS })).toMatchObject({ rank: 2, score: 5, season: 1 });
    expect(await a.client.request("rank.Me", { board: "seasonal" })).toMatchObject({ rank: 0, score: 0, season: 2 });

    await a.client.request("rank.Submit", { board: "seasonal", score: 1 });
    expect(await a.client.request("rank.Me", { board: "seasonal" })).toMatchObject({ rank: 1, score: 1, season: 2 });
    // a second reset drops season 1 and keeps season 2 readable
    await internal("ResetSeason", { board: "seasonal" });
    const prev2 = await a.client.request("rank.Top", { board: "seasonal", season: rank.Season.SEASON_PREVIOUS });
    expect(prev2.season).toBe(2);
    expect(namesOf(prev2)).toEqual([a.name]);
  });

  it("takes the player from the session: a body cannot name another uid", async () => {
    const [a, victim] = [await player("self"), await player("victim")];
    // SubmitFor names a uid: refused for any client session
    const forged = await failure(a.client.request("rank.SubmitFor", { board: "self", uid: victim.uid, score: 1_000 }));
    expect(forged.code).toBe("FORBIDDEN");
    // a Submit body with an extra uid field (unknown to rank.SubmitRequest) still scores the caller
    const body = registry.message<rank.SubmitRequest>("rank.SubmitRequest").encode({ board: "self", score: 77 });
    const extra = Buffer.concat([Buffer.from(body), Buffer.from([0x7a, victim.uid.length]), Buffer.from(victim.uid)]); // field 15, string
    await a.client.requestRaw("rank.Submit", extra);
    expect(await a.client.request("rank.Me", { board: "self" })).toMatchObject({ uid: a.uid, score: 77 });
    expect(await victim.client.request("rank.Me", { board: "self" })).toMatchObject({ rank: 0, score: 0 });
    // a caller header is believed only on the trusted subjects: on svc.* (where gateways publish)
    // a forged one changes nothing
    const codec = registry.route<rank.SubmitForRequest, rank.SubmitReply>("rank.SubmitFor")!;
    const spoofed = await failure(
      mux.request("svc.rank.SubmitFor", codec.request.encode({ board: "self", uid: victim.uid, score: 999 }), trustedCallHeaders("game/game-forged", null, null)),
    );
    expect(spoofed.code).toBe("FORBIDDEN");
    // a trusted call (mod.svc.*, caller stamped) may submit for a player
    const viaModule = await internal<rank.SubmitForRequest, rank.SubmitReply>("SubmitFor", { board: "self", uid: victim.uid, score: 5 });
    expect(viaModule).toMatchObject({ rank: 2, score: 5 });
  });

  it("client scores on a modules-only board are refused; unknown boards do not exist; the 1.7e308 attack changes nothing", async () => {
    const redis = cluster.modules.find((m) => m.runtime.name === "rank")!.runtime.redis();
    const [honest, cheat] = [await player("honest"), await player("cheat")];
    await internal<rank.SubmitForRequest, rank.SubmitReply>("SubmitFor", { board: "tictactoe", uid: honest.uid, score: 3 });
    const keysBefore = (await redis.keys("sy:rank:*")).sort();

    const refused = await failure(cheat.client.request("rank.Submit", { board: "tictactoe", score: 1.7e308 }));
    expect(refused.code).toBe("FORBIDDEN");
    expect(refused.message).toContain("SubmitFor");
    // the flood of the review, bounded: 300 NOTIFYs on fresh board names and on tictactoe, in
    // rounds below the in-flight cap; each refusal comes back as an ERROR with id 0
    const refusals: string[] = [];
    const off = cheat.client.onError((e) => refusals.push(e.code));
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 25; i++) {
        cheat.client.notify("rank.Submit", { board: `junk-${round * 25 + i}`, score: 1 });
        cheat.client.notify("rank.Submit", { board: "tictactoe", score: 1.7e308 });
      }
      for (let wait = 0; refusals.length < (round + 1) * 50 && wait < 500; wait++) await new Promise((r) => setTimeout(r, 10));
    }
    off();
    expect(refusals.filter((c) => c === "NOT_FOUND").length).toBe(150);
    expect(refusals.filter((c) => c === "FORBIDDEN").length).toBe(150);
    const unknown = await failure(cheat.client.request("rank.Submit", { board: "junk-final", score: 1 }));
    expect(unknown.code).toBe("NOT_FOUND");
    expect(unknown.message).toContain("modules.rank.settings.boards");
    for (const route of ["rank.Top", "rank.Me", "rank.Around"] as const) {
      expect((await failure(cheat.client.request(route, { board: "junk-final" }))).code, route).toBe("NOT_FOUND");
    }
    expect((await failure(internal("ResetSeason", { board: "junk-final" }))).code).toBe("NOT_FOUND");
    expect((await failure(internal("SubmitFor", { board: "junk-final", uid: cheat.uid, score: 1 }))).code).toBe("NOT_FOUND");

    const top = await honest.client.request("rank.Top", { board: "tictactoe" });
    expect(top.entries.map((e) => [e.uid, e.score])).toEqual([[honest.uid, 3]]);
    // no key was created (the notifies left before the requests above, so most were handled by now)
    expect((await redis.keys("sy:rank:*")).sort()).toEqual(keysBefore);
  });

  it("a board that opted in takes client scores within its bounds only, finite ones only", async () => {
    const a = await player("bounds");
    expect(await a.client.request("rank.Submit", { board: "bounded", score: 1000 })).toMatchObject({ score: 1000, changed: true });
    expect((await a.client.request("rank.Submit", { board: "bounded", score: -10 })).changed).toBe(false);
    for (const score of [1000.5, -11, 1.7e308, Number.POSITIVE_INFINITY, Number.NaN]) {
      const e = await failure(a.client.request("rank.Submit", { board: "bounded", score }));
      expect(e.code, String(score)).toBe("BAD_REQUEST");
    }
    expect((await failure(a.client.request("rank.Submit", { board: "bounded", score: 2000 }))).message).toContain("-10 to 1000");
    expect((await a.client.request("rank.Me", { board: "bounded" })).score).toBe(1000);
    // modules are not bound by clientSubmit, but by finiteness
    expect((await internal<rank.SubmitForRequest, rank.SubmitReply>("SubmitFor", { board: "bounded", uid: a.uid, score: 5000 })).score).toBe(5000);
    expect((await failure(internal("SubmitFor", { board: "bounded", uid: a.uid, score: Number.POSITIVE_INFINITY }))).code).toBe("BAD_REQUEST");
  });

  it("refuses bad input with messages that say what to do", async () => {
    const a = await player("bad");
    const badBoard = await failure(a.client.request("rank.Submit", { board: "no spaces", score: 1 }));
    expect(badBoard.code).toBe("BAD_REQUEST");
    expect(badBoard.message).toContain("letters, digits");
    expect((await failure(a.client.request("rank.Submit", { board: "arena", score: Number.NaN }))).code).toBe("BAD_REQUEST");
    expect((await failure(a.client.request("rank.Top", { board: "" }))).code).toBe("BAD_REQUEST");
    const anon = await cluster.client();
    expect((await failure(anon.request("rank.Me", { board: "arena" }))).code).toBe("UNAUTHENTICATED");
  });
});
