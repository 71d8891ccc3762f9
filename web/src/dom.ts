/** The element with `id`; throws when the page lacks it (index.html and the code disagree). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`index.html has no element #${id}`);
  return el as T;
}

/** Replaces the children of `parent` with one `tag` element per text. */
export function renderList(parent: HTMLElement, tag: string, texts: readonly string[]): void {
  parent.replaceChildren(
    ...texts.map((t) => {
      const el = document.createElement(tag);
      el.textContent = t;
      return el;
    }),
  );
}

/** Shows what went wrong in the status line (or clears it). */
export function showStatus(text: string): void {
  byId("status").textContent = text;
}

/** Runs a user action, showing its failure (code and message) in the status line. */
export async function run(label: string, action: () => Promise<unknown>): Promise<void> {
  try {
    showStatus("");
    await action();
  } catch (err) {
    const e = err as { code?: string; message?: string };
    showStatus(`${label}: ${e.code ? `${e.code}: ` : ""}${e.message ?? String(err)}`);
  }
}

/** Calls `tick` now and every `ms` until the returned function is called. */
export function every(ms: number, tick: () => Promise<void>): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const loop = async (): Promise<void> => {
    if (stopped) return;
    await tick().catch(() => undefined);
    if (!stopped) timer = setTimeout(() => void loop(), ms);
  };
  void loop();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
