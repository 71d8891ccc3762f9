/** Parsed command line: positional words and `--name value` / `--flag` options. */
export interface ParsedArgs {
  positional: string[];
  options: Map<string, string | true>;
}

/** Parses `a b --port 3250 --json --token=x` into positional words and options. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const positional: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word.startsWith("--")) {
      const eq = word.indexOf("=");
      if (eq > 0) {
        options.set(word.slice(2, eq), word.slice(eq + 1));
        continue;
      }
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith("--")) {
        options.set(word.slice(2), next);
        i++;
      } else {
        options.set(word.slice(2), true);
      }
    } else {
      positional.push(word);
    }
  }
  return { positional, options };
}

/** String value of an option, or `fallback`. */
export function optString(args: ParsedArgs, name: string, fallback?: string): string | undefined {
  const v = args.options.get(name);
  return typeof v === "string" ? v : fallback;
}

/** Integer value of an option, or `fallback`; throws with the option name when not a number. */
export function optInt(args: ParsedArgs, name: string, fallback?: number): number | undefined {
  const v = args.options.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== "string" || !Number.isInteger(n)) throw new Error(`--${name} expects a whole number, got ${JSON.stringify(v)}`);
  return n;
}

/** True when the flag is present. */
export function optFlag(args: ParsedArgs, name: string): boolean {
  return args.options.has(name);
}
