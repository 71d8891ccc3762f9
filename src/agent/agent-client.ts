import type { NatsConnection, Subscription } from "nats";
import { instanceControlSubject } from "../bus/discovery.js";
import { agentExitSubject, agentPrefix } from "../bus/subjects.js";
import type { Logger } from "../log/logger.js";
import type { NatsRole } from "../servers/nats-permissions.js";
import type { AgentExit, AgentProcessInfo, AgentSpawnRequest, AgentStopRequest } from "./agent.js";
import { requestJson } from "../ctl/json-request.js";
import type { ProcessSlot } from "../process/process-plan.js";
import { pidAlive } from "../process/pid-alive.js";
import { RemoteProcess } from "../process/remote-process.js";

/**
 * The master's side of processes it does not spawn as its own children: instances run by host
 * agents, and instances adopted from an earlier master. Each one is a RemoteProcess the
 * supervisor treats like a child.
 */
export class RemoteProcesses {
  private readonly nc: NatsConnection;
  private readonly log: Logger;
  private readonly byInstance = new Map<string, RemoteProcess>();
  private readonly exits: Subscription;

  constructor(nc: NatsConnection, log: Logger) {
    this.nc = nc;
    this.log = log;
    this.exits = nc.subscribe(agentExitSubject("*"), {
      callback: (_err, msg) => {
        try {
          const e = JSON.parse(new TextDecoder().decode(msg.data)) as AgentExit;
          this.byInstance.get(e.instance)?.markExited(e.code, (e.signal as NodeJS.Signals | null) ?? null);
        } catch {
          // not ours to parse: ignore
        }
      },
    });
  }

  /**
   * Asks the agent of `slot.host` to start an instance; the handle reports its exit. `redisUrl`
   * must carry no password (the agent hands its child the credentials file of `role`).
   */
  spawnOnAgent(slot: ProcessSlot, instanceId: string, redisUrl: string, role: NatsRole): RemoteProcess {
    const host = slot.host!;
    const proc = this.track(instanceId, new RemoteProcess((signal) => void this.stopOnAgent(host, instanceId, signal)));
    const req: AgentSpawnRequest = { slot, instance: instanceId, redisUrl, role };
    requestJson<{ pid: number }>(this.nc, agentPrefix(host) + "spawn", req, 5_000)
      .then((res) => {
        if (!res) throw new Error(`no agent answers for host "${host}": start one there with \`npx switchyard agent --nats URL --host-id ${host}\``);
        proc.pid = res.pid;
        proc.watch({ nc: this.nc, instanceId });
      })
      .catch((err: unknown) => {
        this.log.error({ slot: slot.key, host, err: (err as Error).message }, "agent could not start the process");
        proc.markExited(null, null);
      });
    return proc;
  }

  /**
   * A handle on an instance an earlier master started. Stopping it asks it to drain over NATS
   * (`sys.instance.<id>.drain`); SIGKILL goes to the pid on this host, or through its agent.
   */
  adopt(instanceId: string, pid: number, where: { local: boolean; agentHost: string | null }): RemoteProcess {
    const { local, agentHost } = where;
    const proc = this.track(
      instanceId,
      new RemoteProcess((signal) => {
        if (signal === "SIGKILL") {
          if (local) killPid(pid, "SIGKILL");
          else if (agentHost !== null) void this.stopOnAgent(agentHost, instanceId, "SIGKILL");
          else this.log.warn({ childInstance: instanceId, pid }, "cannot SIGKILL an adopted process on another host without an agent");
          return;
        }
        this.nc.request(instanceControlSubject(instanceId, "drain"), undefined, { timeout: 2_000 }).catch((err: unknown) => {
          this.log.warn({ childInstance: instanceId, err: (err as Error).message }, "drain request not answered");
          if (local) killPid(pid, "SIGTERM");
        });
      }, pid),
    );
    proc.watch(local ? { nc: this.nc, instanceId, localPid: pid } : { nc: this.nc, instanceId });
    return proc;
  }

  /** Processes an agent runs; null when no agent answers for that host. */
  list(host: string): Promise<AgentProcessInfo[] | null> {
    return requestJson<AgentProcessInfo[]>(this.nc, agentPrefix(host) + "list", undefined, 2_000);
  }

  close(): void {
    this.exits.unsubscribe();
  }

  private track(instanceId: string, proc: RemoteProcess): RemoteProcess {
    this.byInstance.set(instanceId, proc);
    proc.once("exit", () => {
      if (this.byInstance.get(instanceId) === proc) this.byInstance.delete(instanceId);
    });
    return proc;
  }

  private async stopOnAgent(host: string, instance: string, signal: NodeJS.Signals): Promise<void> {
    const req: AgentStopRequest = { instance, signal: signal === "SIGKILL" ? "SIGKILL" : "SIGTERM" };
    try {
      const res = await requestJson(this.nc, agentPrefix(host) + "stop", req, 2_000);
      if (res === null) throw new Error(`no agent answers for host "${host}"`);
    } catch (err) {
      this.log.warn({ childInstance: instance, host, signal, err: (err as Error).message }, "agent could not signal the process");
      // The agent may have restarted and forgotten it: a drain request still works.
      if (signal !== "SIGKILL") this.nc.request(instanceControlSubject(instance, "drain"), undefined, { timeout: 2_000 }).catch(() => undefined);
    }
  }
}

function killPid(pid: number, signal: NodeJS.Signals): void {
  if (!pidAlive(pid)) return;
  try {
    process.kill(pid, signal);
  } catch {
    // gone meanwhile
  }
}
