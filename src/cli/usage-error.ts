/** A command line that does not parse; `main` prints it with the usage and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
