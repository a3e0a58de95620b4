import { TahoeError } from "@lafs/interface";

/**
 * A mistake on the command line: the CLI prints `tahoe <verb>: error: <message>` and one hint
 * line, and exits 2, like other Unix tools (Tahoe-LAFS itself exits 1 here).
 */
export class CliUsageError extends TahoeError {
  constructor(message: string, hint?: string) {
    super("TAHOE_ERR_CLI_USAGE", message, { hint });
  }
}

export function isCliUsageError(value: unknown): value is CliUsageError {
  return value instanceof CliUsageError;
}
