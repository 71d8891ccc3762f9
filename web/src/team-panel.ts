import { isErrorCode, type Client, type team } from "switchyard/client/browser";
import { byId, renderList, run } from "./dom.js";
import type { Player } from "./player.js";

/** Create or join a team, its members (kept current by team.Event), and team chat. */
export function setupTeam(client: Client, me: Player): void {
  const none = byId("team-none");
  const info = byId("team-info");
  const members = byId("team-members");
  const log = byId("chat-log");
  const text = byId<HTMLInputElement>("chat-text");

  const show = (t: team.TeamInfo): void => {
    none.hidden = true;
    const leader = t.members.find((m) => m.uid === t.leader)?.username ?? t.leader;
    info.textContent = `team ${t.name} (id ${t.teamId}), leader ${leader}`;
    info.dataset.teamId = t.teamId;
    renderList(members, "li", t.members.map((m) => `${m.username}${m.online ? "" : " (offline)"}`));
  };
  const refresh = async (): Promise<void> => {
    try {
      show(await client.request("team.Info", {}));
    } catch (err) {
      // Not in a team (any more): offer create / join again.
      if (!isErrorCode(err, "NOT_FOUND")) throw err;
      none.hidden = false;
      info.textContent = "not in a team";
      members.replaceChildren();
    }
  };

  client.on<team.Event>("team.Event", () => void run("team", refresh));
  client.on<team.ChatMessage>("team.ChatMessage", (m) => {
    const li = document.createElement("li");
    li.textContent = `${m.fromUsername}: ${m.text}`;
    log.append(li);
  });
  byId("team-create").addEventListener("click", () =>
    void run("create team", async () => show(await client.request("team.Create", { name: `${me.username}-team`, open: true }))),
  );
  byId("team-join").addEventListener("click", () =>
    void run("join team", async () => show(await client.request("team.Join", { teamId: byId<HTMLInputElement>("team-join-id").value.trim() }))),
  );
  byId<HTMLFormElement>("chat-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    void run("chat", async () => {
      await client.request("team.Chat", { text: text.value });
      text.value = "";
    });
  });
  // Team.Info also puts this session in the team channel after a login (README: team).
  void run("team", refresh);
}
