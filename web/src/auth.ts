import type { Client } from "switchyard/client/browser";
import { byId, run } from "./dom.js";
import type { Player } from "./player.js";

/** The register / log-in form; calls `onLogin` once a login succeeded. */
export function setupAuth(client: Client, onLogin: (player: Player) => void): void {
  const username = byId<HTMLInputElement>("username");
  const password = byId<HTMLInputElement>("password");
  const me = byId("me");

  byId("register").addEventListener("click", () =>
    void run("register", async () => {
      await client.request("login.Register", { username: username.value, password: password.value });
      me.textContent = `registered ${username.value}: now log in`;
    }),
  );
  byId<HTMLFormElement>("auth-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    void run("log in", async () => {
      const reply = await client.request("login.Login", { username: username.value, password: password.value });
      me.textContent = `logged in as ${username.value}`;
      byId("auth-form").hidden = true;
      onLogin({ uid: reply.uid, username: username.value });
    });
  });
}
