import type { Client } from "../../src/client/index.js";
import type { TestCluster } from "./cluster.js";

/** A user registered and logged in on its own client. */
export interface TestUser {
  client: Client;
  uid: string;
  name: string;
}

let seq = 0;

/** A username not used before in this test file: `<prefix><n>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}${++seq}`;
}

/** Registers and logs in user `<prefix><n>` on gateway `gateway` (by default 0 and 1 in turn). */
export async function freshUser(cluster: TestCluster, prefix: string, gateway?: number): Promise<TestUser> {
  const name = uniqueName(prefix);
  const { client, uid } = await cluster.loggedInClient(name, gateway ?? seq % 2);
  return { client, uid, name };
}
