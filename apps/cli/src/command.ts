import type { CliIo } from "./io.js";
import type { OptionSpec, ParsedOptions } from "./option-parser.js";

/** The sections of `tahoe --help`, in Tahoe-LAFS's order. */
export const COMMAND_GROUPS = [
  "Administration",
  "Controlling a node",
  "Debugging",
  "Using the filesystem",
] as const;
export type CommandGroup = (typeof COMMAND_GROUPS)[number];

/** The global options, read before the verb: `tahoe [global-options] <verb> ...`. */
export interface GlobalOptions {
  /** -d/--node-directory, as typed (not yet resolved). */
  readonly nodeDirectory: string | undefined;
  readonly quiet: boolean;
}

export interface CommandContext {
  readonly io: CliIo;
  readonly global: GlobalOptions;
  /** stdout, or nothing with -q. */
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** ~/.tahoe, where commands look when no directory is given. */
  readonly defaultNodeDir: string;
}

/** What --help needs to know to show defaults that depend on the user (the home directory). */
export interface HelpContext {
  readonly defaultNodeDir: string;
}

/** One `tahoe <verb>`. Later verbs (run, put, get, ...) add one of these to commands.ts. */
export interface CliCommand {
  readonly name: string;
  readonly group: CommandGroup;
  /** One line for `tahoe --help`. */
  readonly summary: string;
  /** What follows `tahoe [global-options] <verb>` on the Usage line. */
  readonly synopsis: string;
  /** Paragraphs shown under the options in `tahoe <verb> --help`. */
  readonly description: string;
  options(context: HelpContext): readonly OptionSpec[];
  /** Returns the exit code; throws CliUsageError or TahoeError for the user's mistakes. */
  run(parsed: ParsedOptions, context: CommandContext): Promise<number>;
}
