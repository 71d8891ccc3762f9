/** One sample line of a Prometheus text page. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed Prometheus text page: samples, and how often each family's TYPE line appears. */
export interface PromPage {
  samples: PromSample[];
  typeLines: Map<string, number>;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the text exposition format (what `GET /metrics` answers); throws on a malformed line. */
export function parsePrometheusText(text: string): PromPage {
  const samples: PromSample[] = [];
  const typeLines = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("# TYPE ")) {
      const name = line.split(" ")[2]!;
      typeLines.set(name, (typeLines.get(name) ?? 0) + 1);
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (m === null) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\"/g, '"').replace(/\\n/g, "\n").replace(/\\\\/g, "\\");
    samples.push({ name: m[1]!, labels, value: m[3] === "+Inf" ? Infinity : Number(m[3]) });
  }
  return { samples, typeLines };
}

/** The samples named `name` whose labels include every pair of `labels`. */
export function findSamples(page: PromPage, name: string, labels: Record<string, string> = {}): PromSample[] {
  return page.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The value of the one sample named `name` with `labels`; throws when there is not exactly one. */
export function sampleValue(page: PromPage, name: string, labels: Record<string, string> = {}): number {
  const found = findSamples(page, name, labels);
  if (found.length !== 1) throw new Error(`expected one sample ${name}${JSON.stringify(labels)}, found ${found.length}`);
  return found[0]!.value;
}
