/** Where the page connects: ?gate=… or ?url=… in the address, else /config.json from the server. */
export interface DemoConfig {
  gate?: string;
  url?: string;
}

export async function loadConfig(): Promise<DemoConfig> {
  const q = new URLSearchParams(location.search);
  const gate = q.get("gate");
  const url = q.get("url");
  if (gate !== null) return { gate };
  if (url !== null) return { url };
  const res = await fetch("config.json", { cache: "no-store" });
  if (!res.ok) throw new Error(`config.json: HTTP ${res.status}; open the page served by \`npx switchyard web\` or \`npm start\``);
  return (await res.json()) as DemoConfig;
}
