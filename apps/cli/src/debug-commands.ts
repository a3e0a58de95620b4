import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type ClosableByteSource,
  computeImmutableCap,
  DEFAULT_MAX_SEGMENT_SIZE,
  fileSource,
  spoolToTempFile,
} from "@lafs/immutable";
import { TahoeError } from "@lafs/interface";
import type { CliCommand, CommandContext } from "./command.js";
import { flag, type OptionSpec, type ParsedOptions, param } from "./option-parser.js";
import { absolutePath, quotePath } from "./paths.js";
import { CliUsageError } from "./usage-error.js";

/** One `tahoe debug <subcommand>`; its options are a subset of the debug verb's. */
interface DebugSubcommand {
  readonly name: string;
  readonly summary: string;
  readonly options: readonly OptionSpec[];
  run(parsed: ParsedOptions, args: readonly string[], context: CommandContext): Promise<number>;
}

const COMPUTE_CAP_OPTIONS: readonly OptionSpec[] = [
  {
    name: "shares-needed",
    takesValue: true,
    defaultValue: "3",
    help: "k: shares needed to rebuild the file (from tahoe.cfg inside a node).",
  },
  {
    name: "shares-total",
    takesValue: true,
    defaultValue: "10",
    help: "N: shares made of the file (from tahoe.cfg inside a node).",
  },
  {
    name: "max-segment-size",
    takesValue: true,
    defaultValue: String(DEFAULT_MAX_SEGMENT_SIZE),
    help: "Maximum segment size in bytes (inside a node: its [client] testing knob for it, if set).",
  },
  {
    name: "convergence-secret-file",
    takesValue: true,
    help: "A file holding the convergence secret in Tahoe base32, like NODEDIR/private/convergence. [default: the node's]",
  },
  {
    name: "random-key",
    takesValue: false,
    help: "Use a random key instead of convergence: prints a cap no other upload shares.",
  },
];

class CliReadError extends TahoeError {
  constructor(file: string, cause: unknown) {
    const reason = (cause as NodeJS.ErrnoException)?.code ?? (cause as Error)?.message ?? String(cause);
    super("TAHOE_ERR_CLI_READ_FAILED", `cannot read ${quotePath(file)}: ${reason}`, {
      hint: "Check that the file exists and is readable.",
      cause,
    });
  }
}

function count(parsed: ParsedOptions, name: string, fallback: number, min: number, max: number): number {
  const text = param(parsed, name);
  if (text === undefined) return fallback;
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new CliUsageError(`--${name}=${text} is not a whole number from ${min} to ${max}`);
  }
  return value;
}

/** The node directory compute-cap takes defaults from: -d, else the working directory when it is a node, else ~/.tahoe. */
function nodeDirectory(context: CommandContext): string | undefined {
  const { io, global } = context;
  if (global.nodeDirectory !== undefined) return absolutePath(global.nodeDirectory, io.cwd, io.homeDir);
  if (existsSync(join(io.cwd, "tahoe.cfg"))) return io.cwd;
  return existsSync(join(context.defaultNodeDir, "tahoe.cfg")) ? context.defaultNodeDir : undefined;
}

/** The config parser loads only for compute-cap inside a node directory. */
async function clientConfig(basedir: string) {
  const { assertValidConfig, loadNodeConfig } = await import("@lafs/config");
  return assertValidConfig(await loadNodeConfig(basedir)).client;
}

async function readSecret(file: string): Promise<Buffer> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new CliReadError(file, error);
  }
  return (await import("@lafs/crypto")).parseSecretFile(text, file);
}

async function openInput(typed: string, context: CommandContext): Promise<ClosableByteSource> {
  if (typed === "-") {
    // stdin is read once, so it is spooled to a temporary file for the two passes.
    return spoolToTempFile(process.stdin, { name: "stdin" });
  }
  const path = absolutePath(typed, context.io.cwd, context.io.homeDir);
  try {
    return await fileSource(path);
  } catch (error) {
    throw new CliReadError(path, error);
  }
}

const computeCap: DebugSubcommand = {
  name: "compute-cap",
  summary: "Print the read cap FILE (or - for stdin) would get, without contacting any server.",
  options: COMPUTE_CAP_OPTIONS,
  async run(parsed, args, context) {
    if (args.length !== 1) {
      throw new CliUsageError(
        args.length === 0
          ? "compute-cap needs a FILE argument (or - for stdin)"
          : `compute-cap takes one FILE, got ${args.length}`,
      );
    }
    const basedir = nodeDirectory(context);
    const client = basedir === undefined ? undefined : await clientConfig(basedir);
    const k = count(parsed, "shares-needed", client?.sharesNeeded ?? 3, 1, 256);
    const n = count(parsed, "shares-total", client?.sharesTotal ?? 10, 1, 256);
    if (k > n)
      throw new CliUsageError(
        `--shares-needed=${k} is larger than --shares-total=${n}`,
        "Choose 1 <= k <= N <= 256.",
      );
    const maxSegmentSize = count(
      parsed,
      "max-segment-size",
      client?.maxSegmentSizeForTesting ?? DEFAULT_MAX_SEGMENT_SIZE,
      1,
      2 ** 30,
    );
    const randomKey = flag(parsed, "random-key");
    const secretFile = param(parsed, "convergence-secret-file");
    if (randomKey && secretFile !== undefined) {
      throw new CliUsageError("--random-key and --convergence-secret-file exclude each other");
    }
    let convergenceSecret: Buffer | undefined;
    if (!randomKey) {
      const file =
        secretFile !== undefined
          ? absolutePath(secretFile, context.io.cwd, context.io.homeDir)
          : basedir !== undefined
            ? join(basedir, "private", "convergence")
            : undefined;
      if (file === undefined) {
        throw new CliUsageError(
          "no convergence secret: not inside a node directory and no --convergence-secret-file",
          "Give --convergence-secret-file=FILE, run it with -d NODEDIR, or pass --random-key.",
        );
      }
      convergenceSecret = await readSecret(file);
    }
    const input = await openInput(args[0]!, context);
    try {
      const result = await computeImmutableCap(input, { k, n, maxSegmentSize, convergenceSecret, randomKey });
      context.out(`${result.readCap}\n`);
    } finally {
      await input.close();
    }
    return 0;
  },
};

const SUBCOMMANDS: readonly DebugSubcommand[] = [computeCap];

export const debugCommand: CliCommand = {
  name: "debug",
  group: "Debugging",
  summary: "Debug commands: compute-cap.",
  synopsis: "SUBCOMMAND [options] ARGS",
  description:
    `Subcommands: ${SUBCOMMANDS.map((s) => s.name).join(", ")}.\n\n` +
    "tahoe debug compute-cap [options] FILE|- prints the URI:CHK: cap (URI:LIT: for 55 bytes or " +
    "less) an upload of FILE (- for stdin) would get, without contacting any server, to check for " +
    "duplicates. Inside a node directory (-d, the working directory, or ~/.tahoe) it uses the " +
    "node's private/convergence and the encoding parameters of its tahoe.cfg.",
  options: () => SUBCOMMANDS.flatMap((s) => s.options),
  async run(parsed, context) {
    const [name, ...args] = parsed.args;
    const sub = SUBCOMMANDS.find((s) => s.name === name);
    if (sub === undefined) {
      throw new CliUsageError(
        name === undefined ? "tahoe debug needs a subcommand" : `unknown debug subcommand: ${name}`,
        `The subcommands are: ${SUBCOMMANDS.map((s) => s.name).join(", ")}.`,
      );
    }
    return sub.run(parsed, args, context);
  },
};
