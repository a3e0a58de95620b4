import { TahoeError, type TahoeErrorOptions } from "@lafs/interface";

/**
 * One problem found in a file a user edits. Loaders collect these instead of throwing, so a
 * user sees every mistake at once: which file, which line, which [section]key, what is wrong,
 * and what is allowed.
 */
export interface ConfigIssue {
  file: string;
  line?: number | undefined;
  section?: string | undefined;
  key?: string | undefined;
  /** What is wrong, naming the value. */
  message: string;
  /** What is allowed instead, or how to fix it. */
  allowed?: string | undefined;
}

/** `tahoe.cfg:12: [node]web.port: message (allowed: ...)` */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}`;
  let what = "";
  if (issue.section !== undefined && issue.key !== undefined) what = `[${issue.section}]${issue.key}: `;
  else if (issue.section !== undefined) what = `[${issue.section}]: `;
  else if (issue.key !== undefined) what = `${issue.key}: `;
  const allowed = issue.allowed ? ` (${issue.allowed})` : "";
  return `${where}: ${what}${issue.message}${allowed}`;
}

/**
 * A value that does not parse: thrown by the string parsers (endpoints, hints, NURLs), whose
 * callers know the file and key and turn it into a ConfigIssue. The message names the value;
 * the hint says what is allowed.
 */
export class ConfigValueError extends TahoeError {
  constructor(code: `TAHOE_ERR_CONFIG_${string}`, message: string, options: TahoeErrorOptions = {}) {
    super(code, message, options);
  }
}

/** Raised when a whole configuration is refused; carries every issue found. */
export class ConfigInvalidError extends TahoeError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options: TahoeErrorOptions = {}) {
    const lines = issues.map(formatIssue);
    super(
      "TAHOE_ERR_CONFIG_INVALID",
      `the configuration has ${issues.length} problem(s):\n${lines.join("\n")}`,
      {
        hint: options.hint ?? "Fix each line above, then try again.",
        cause: options.cause,
      },
    );
    this.issues = issues;
  }
}
