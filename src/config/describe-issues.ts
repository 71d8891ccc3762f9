import type { z } from "zod";

/** "modules.login.settings.admins: expected array, received string; …" — every issue, each with its key path. */
export function describeIssues(prefix: string, issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((issue) => describeIssue(prefix, issue)).join("; ");
}

function joinPath(prefix: string, path: readonly PropertyKey[]): string {
  const parts = path.map((p) => (typeof p === "number" ? `[${p}]` : String(p)));
  return (prefix === "" ? parts : [prefix, ...parts]).join(".").replace(/\.\[/g, "[");
}

/** One issue; a union or a record key says what went wrong inside it, not only "Invalid input". */
function describeIssue(prefix: string, issue: z.core.$ZodIssue): string {
  const at = joinPath(prefix, issue.path);
  if (issue.code === "invalid_union" && issue.errors.length > 0) {
    const alternatives = issue.errors.map((branch) => branch.map((i) => describeIssue(at, i)).join(", "));
    return `${at}: none of the accepted forms matches (${alternatives.join(" | ")})`;
  }
  if (issue.code === "invalid_key" || issue.code === "invalid_element") {
    return issue.issues.map((i) => describeIssue(`${at} (key)`, i)).join("; ");
  }
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => `${joinPath(at, [key])}: ${issue.message}`).join("; ");
  }
  return at === "" ? issue.message : `${at}: ${issue.message}`;
}
