/** The gateway directory behind the gate refreshes every 2 s: gate answers are polled for up to this long. */
export const GATE_REFRESH_WAIT_MS = 6_000;

/** Polls the gate at `url` until it names gateway `id`; throws with its last answer otherwise. */
export async function gateNames(url: string, id: string): Promise<void> {
  const deadline = Date.now() + GATE_REFRESH_WAIT_MS;
  let last = "";
  while (Date.now() < deadline) {
    const res = await fetch(url);
    const text = await res.text();
    last = `${res.status} ${text}`;
    if (res.ok && (JSON.parse(text) as { id: string }).id === id) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the gate at ${url} never named ${id}; last answer: ${last}`);
}
