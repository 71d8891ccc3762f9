import { SwitchyardError } from "../../src/protocol/errors.js";

/** The SwitchyardError a call rejects with; fails the test when the call succeeds or throws anything else. */
export async function failure(p: Promise<unknown>): Promise<SwitchyardError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SwitchyardError) return err;
    throw err;
  }
  throw new Error("expected the call to fail, but it succeeded");
}
