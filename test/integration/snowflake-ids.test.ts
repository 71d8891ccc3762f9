import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { decodeSnowflake } from "../../src/ids/index.js";
import { AccountStore } from "../../modules/login/accounts.js";
import { DEFAULT_PASSWORD_PARAMS, hashPassword } from "../../modules/login/passwords.js";
import { TeamStore } from "../../modules/team/team-store.js";
import { startTestCluster, type TestCluster } from "../helpers/cluster.js";
import { gameStackSpec } from "../helpers/game-cluster.js";

describe("snowflake ids for new uids, team ids and room ids; ids issued before keep working", () => {
  let cluster: TestCluster;
  let redis: Redis;

  beforeAll(async () => {
    cluster = await startTestCluster(gameStackSpec(1));
    redis = new Redis(cluster.redis.url);
  });

  afterAll(async () => {
    redis?.disconnect();
    await cluster?.stop();
  });

  it("a new account's uid is u<snowflake>; a new team's id and a new room's id are snowflakes", async () => {
    const { client, uid } = await cluster.loggedInClient("newcomer");
    expect(uid).toMatch(/^u\d{15,20}$/);
    expect(decodeSnowflake(uid.slice(1))!.timestampMs).toBeLessThanOrEqual(Date.now());
    const t = await client.request("team.Create", { name: "fresh", open: true });
    expect(decodeSnowflake(t.teamId)).not.toBeNull();
    expect(t.channel).toBe(`team-${t.teamId}`);
    expect((await client.request("team.Info", { teamId: t.teamId })).leader).toBe(uid);
    const room = await client.request("game.QuickJoin", { mode: "tictactoe" });
    expect(room.room?.roomId).toMatch(/^r\d{15,20}$/);
    expect(decodeSnowflake(room.room!.roomId.slice(1))).not.toBeNull();
  });

  it("an account with a counter uid (u7) logs in, and a team with a hex id is joined and listed", async () => {
    const hash = await hashPassword("password-1", { ...DEFAULT_PASSWORD_PARAMS, N: 1024 });
    expect(await new AccountStore(redis).create("oldtimer", hash, "u7")).toBe("u7");
    await new TeamStore(redis).create("u7", "0123456789ab", "old guard", 5, true);

    const old = await cluster.client();
    expect((await old.request("login.Login", { username: "oldtimer", password: "password-1" })).uid).toBe("u7");
    expect(await old.request("team.Info", {})).toMatchObject({ teamId: "0123456789ab", leader: "u7", channel: "team-0123456789ab" });
    const { client, uid } = await cluster.loggedInClient("joiner");
    const joined = await client.request("team.Join", { teamId: "0123456789ab" });
    expect(joined.members.map((m) => m.uid)).toEqual(["u7", uid]);
    const bad = await client.request("team.Info", { teamId: "not-an-id" }).catch((e: { code: string; message: string }) => e);
    expect(bad).toMatchObject({ code: "BAD_REQUEST" });
  });
});
