import { formatTahoeError, isTahoeError } from "@lafs/interface";
import type { CommandContext, HelpContext } from "./command.js";
import { COMMANDS, findCommand } from "./commands.js";
import { globalOptionSpecs, misplacedGlobalOptions, readGlobalOptions } from "./global-options.js";
import { formatCommandHelp, formatGlobalHelp } from "./help.js";
import { type CliIo, completeIo } from "./io.js";
import { flag, parseOptions } from "./option-parser.js";
import { defaultNodeDir } from "./paths.js";
import { CliUsageError, isCliUsageError } from "./usage-error.js";
import { versionLine } from "./version.js";

/** Exit codes: 0 success, 1 a refused operation or an internal error, 2 a command-line mistake. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/**
 * Runs `tahoe ARGV...` and returns the exit code. Everything the command touches outside its
 * arguments comes from `io` (default: the real process), so tests run commands in-process.
 */
export async function runCli(argv: readonly string[], io?: Partial<CliIo>): Promise<number> {
  const cli = completeIo(io);
  const help: HelpContext = { defaultNodeDir: defaultNodeDir(cli.homeDir) };
  let verb: string | undefined;
  try {
    const top = parseOptions(globalOptionSpecs(help), argv, { stopAtFirstArg: true });
    if (top.help) {
      cli.stdout(formatGlobalHelp(COMMANDS, help));
      return EXIT_OK;
    }
    if (flag(top, "version")) {
      cli.stdout(versionLine());
      return EXIT_OK;
    }
    const [name, ...rest] = top.args;
    if (name === undefined) {
      throw new CliUsageError("must specify a command", "Run 'tahoe --help' for the list of commands.");
    }
    const command = findCommand(name);
    if (command === undefined) {
      throw new CliUsageError(
        `Unknown command: ${name}`,
        `The commands are: ${COMMANDS.map((c) => c.name).join(", ")}. Run 'tahoe --help' for details.`,
      );
    }
    verb = name;
    const parsed = parseOptions(command.options(help), rest, { misplaced: misplacedGlobalOptions(name) });
    if (parsed.help) {
      cli.stdout(formatCommandHelp(command, help));
      return EXIT_OK;
    }
    const global = readGlobalOptions(top);
    const context: CommandContext = {
      io: cli,
      global,
      out: global.quiet ? () => {} : cli.stdout,
      err: cli.stderr,
      defaultNodeDir: help.defaultNodeDir,
    };
    return await command.run(parsed, context);
  } catch (error) {
    return reportError(error, verb, cli);
  }
}

/** Usage errors and TahoeErrors are the user's to fix: message and hint, never a stack. */
function reportError(error: unknown, verb: string | undefined, io: CliIo): number {
  if (isCliUsageError(error)) {
    const who = verb === undefined ? "tahoe" : `tahoe ${verb}`;
    const hint =
      error.hint ??
      (verb === undefined
        ? "Run 'tahoe --help' for the global options and commands."
        : `Run 'tahoe ${verb} --help' for the options.`);
    io.stderr(`${who}: error: ${error.message}\n${hint}\n`);
    return EXIT_USAGE;
  }
  if (isTahoeError(error)) {
    io.stderr(`${formatTahoeError(error)}\n`);
    return EXIT_FAILURE;
  }
  const detail = error instanceof Error ? (error.stack ?? String(error)) : String(error);
  io.stderr(
    `tahoe: internal error: ${detail}\n` +
      "This is a bug in lafs-ts, not something you did. Please report it, with the command you ran and the text above.\n",
  );
  return EXIT_FAILURE;
}
