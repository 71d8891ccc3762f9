import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../../src/client/index.js";
import { defaultProtoDir, loadProto } from "../../src/proto/registry.js";
import { alive, type CliProcess, ctl, ctlStatus, defineModuleUrl, loggedIn, startOpsCluster, stopOpsCluster } from "../helpers/ops.js";

const MAIL_PROTO = `syntax = "proto3";
package mail;
service Mail {
  rpc Send(SendRequest) returns (SendReply);
}
message SendRequest { string to = 1; string subject = 2; }
message SendReply { string id = 1; string to = 2; string served_by = 3; }
`;

function mailModule(): string {
  return `import { defineModule } from ${JSON.stringify(defineModuleUrl())};
let sent = 0;
export default defineModule({ name: "mail" }, {
  version: "0.1.0",
  handlers: {
    Send(ctx, req) {
      if (!req.to) throw new Error("no recipient");
      sent++;
      return { id: "m" + sent, to: req.to, servedBy: ctx.module.instanceId };
    },
  },
});
`;
}

describe("ctl add / scale / remove: a module type written after launch", () => {
  let dir: string;
  let master: CliProcess;
  let config: string;
  let client: Client;
  const pids = new Set<number>();

  beforeAll(async () => {
    const ops = await startOpsCluster("sy-ops-add-", {
      modules: { login: { instances: 1, settings: { scryptN: 1024 } } },
      master: { restartBackoffMinMs: 100, restartBackoffMaxMs: 400, crashLoopCount: 2, readyTimeoutMs: 6_000 },
    }, pids);
    dir = ops.dir;
    master = ops.master;
    config = ops.config;
    client = await loggedIn(ops.gwPort, "postman");
  });

  afterAll(() => stopOpsCluster({ dir, master, pids, clients: [client] }));

  it("adds mail through the running gateway, scales it, removes it, and explains every refusal", async () => {
    writeFileSync(join(dir, "mail.proto"), MAIL_PROTO);
    const file = join(dir, "mail.js");
    writeFileSync(file, mailModule());
    const proto = loadProto(defaultProtoDir(), [join(dir, "mail.proto")]);
    const send = proto.route<{ to: string; subject: string }, { id: string; to: string; servedBy: string }>("mail.Send")!;
    const call = async (to: string): Promise<{ id: string; to: string; servedBy: string }> =>
      send.response.decode(await client.requestRaw("mail.Send", send.request.encode({ to, subject: "hi" })));

    // Nothing serves mail yet: a clear error at once, through the gateway that keeps running.
    await expect(call("bob")).rejects.toMatchObject({ code: "UNAVAILABLE" });

    const added = await ctl(config, ["add", "mail", "--from", file]);
    expect(added.stderr).toBe("");
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^added mail: 1 instance answering\n {2}\+ mail-[0-9a-f]{4} \(mail\/0, v0\.1\.0, host .+\)\n$/);
    const reply = await call("bob");
    expect(reply).toMatchObject({ to: "bob", id: "m1" });
    expect(reply.servedBy).toMatch(/^mail-/);
    // A handler error travels back as an error, not a hang.
    await expect(call("")).rejects.toMatchObject({ code: "INTERNAL" });

    const up = await ctl(config, ["scale", "mail", "2"]);
    expect(up.stdout).toBe("mail: 1 -> 2 instances (+mail/1)\n");
    const two = await ctlStatus(config);
    const mails = two.instances.filter((r) => r.module === "mail");
    expect(mails.map((r) => [r.state, r.version, r.supervised])).toEqual([
      ["ready", "0.1.0", true],
      ["ready", "0.1.0", true],
    ]);
    for (const r of mails) pids.add(r.pid!);
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => call(`u${i}`)));
    expect(replies.map((r) => r.to)).toEqual(Array.from({ length: 10 }, (_, i) => `u${i}`));

    const again = await ctl(config, ["add", "mail", "--from", file]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("add mail: it already runs (mail/0, mail/1): use `ctl scale mail N`");

    const nocode = await ctl(config, ["add", "nosuch"]);
    expect(nocode.code).toBe(1);
    expect(nocode.stderr).toMatch(/add nosuch: no module code at .*dist\/modules\/nosuch\/index\.js: pass --from FILE/);

    const removed = await ctl(config, ["remove", "mail"]);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toMatch(/^removed mail: 2 instances drained and stopped\n( {2}- mail-[0-9a-f]{4} .*\n){2}$/);
    await expect(call("late")).rejects.toMatchObject({ code: "UNAVAILABLE" });
    for (const r of mails) expect(alive(r.pid!)).toBe(false);

    const twice = await ctl(config, ["remove", "mail"]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain("remove mail: this master runs no instance of it");
    const noRollout = await ctl(config, ["rollout", "mail", "--from", file]);
    expect(noRollout.code).toBe(1);
    expect(noRollout.stderr).toContain("rollout mail: this master runs no instance of it: start it with `ctl add mail`");
  }, 45_000);

  it("reports a module that crash-loops instead of hanging, and leaves nothing behind", async () => {
    const file = join(dir, "broken.js");
    writeFileSync(file, `throw new Error("broken on purpose");\n`);
    const res = await ctl(config, ["add", "broken", "--from", file]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/add broken: not ready after 6000 ms: broken\/0 \(broken-[0-9a-f]{4}\) is (crash-looping|backoff|starting), [1-9]\d* restarts, last exit code 1/);
    expect(res.stderr).toContain("The new instances were stopped again.");
    // The master's log names the crash loop (more than crashLoopCount = 2 crashes).
    expect(master.lines.some((l) => l.includes("process is crash-looping") && l.includes("broken/0"))).toBe(true);
    const status = await ctlStatus(config);
    expect(status.master!.processes.map((p) => p.key)).toEqual(["gateway/gw-1", "login/0"]);
  }, 30_000);
});
