import { CliUsageError } from "./usage-error.js";

/** One option of a command, in the shape of Twisted's optFlags / optParameters rows. */
export interface OptionSpec {
  /** The long name without dashes: `nickname` for `--nickname`. */
  readonly name: string;
  /** One letter, without the dash: `n` for `-n`. */
  readonly short?: string;
  /** true for a parameter (`--nickname=NAME`), false for a flag (`--no-storage`). */
  readonly takesValue: boolean;
  /** Shown in --help as `[default: ...]`; the command applies it, the parser does not. */
  readonly defaultValue?: string;
  readonly help: string;
}

export interface ParsedOptions {
  /** Options the user gave: the value of a parameter (last one wins), or true for a flag. */
  readonly values: ReadonlyMap<string, string | true>;
  readonly args: readonly string[];
  /** Every value of each parameter, in order (`tahoe backup --exclude=A --exclude=B`). */
  readonly repeated?: ReadonlyMap<string, readonly string[]>;
  /** -h/--help was given: everything after it is ignored, as in Twisted. */
  readonly help: boolean;
}

export interface ParseSettings {
  /**
   * Stop at the first non-option word and return it and the rest as args. The global level
   * does this, so the command's own options are left for the command's parser.
   */
  readonly stopAtFirstArg?: boolean;
  /** Words that are options elsewhere, to tell the user where they belong. */
  readonly misplaced?: ReadonlyMap<string, string>;
}

const HELP: OptionSpec = { name: "help", short: "h", takesValue: false, help: "Display this help and exit." };

/**
 * Twisted-style (getopt) option parsing: `--opt=value`, `--opt value`, `-o value`, `-ovalue`,
 * clustered short flags (`-qv`), unique prefixes of long names (`--nick=x`), and `--` to end
 * the options. Unlike getopt, options may follow positional arguments unless stopAtFirstArg
 * is set, because `tahoe create-node DIR --nickname=x` is a natural thing to type.
 */
export function parseOptions(
  specs: readonly OptionSpec[],
  argv: readonly string[],
  settings: ParseSettings = {},
): ParsedOptions {
  const all = [...specs, HELP];
  const values = new Map<string, string | true>();
  const repeated = new Map<string, string[]>();
  const setParam = (name: string, value: string) => {
    values.set(name, value);
    repeated.set(name, [...(repeated.get(name) ?? []), value]);
  };
  const args: string[] = [];
  let i = 0;
  const takeValue = (shown: string): string => {
    const value = argv[i + 1];
    if (value === undefined) {
      throw new CliUsageError(
        `option ${shown} requires a value`,
        `Give it as ${shown}=VALUE or ${shown} VALUE.`,
      );
    }
    i += 1;
    return value;
  };
  for (; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === "--") {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (word.startsWith("--")) {
      const eq = word.indexOf("=");
      const given = eq === -1 ? word.slice(2) : word.slice(2, eq);
      const spec = findLong(all, given, settings.misplaced);
      const shown = `--${spec.name}`;
      if (spec === HELP) return { values, args, help: true };
      if (spec.takesValue) {
        setParam(spec.name, eq === -1 ? takeValue(shown) : word.slice(eq + 1));
      } else if (eq !== -1) {
        throw new CliUsageError(`option ${shown} is a flag and takes no value (got '${word}')`);
      } else {
        values.set(spec.name, true);
      }
      continue;
    }
    if (word.startsWith("-") && word !== "-") {
      for (let j = 1; j < word.length; j++) {
        const letter = word[j]!;
        const spec = all.find((s) => s.short === letter);
        if (spec === undefined) throw unknownOption(`-${letter}`, settings.misplaced);
        if (spec === HELP) return { values, args, help: true };
        if (!spec.takesValue) {
          values.set(spec.name, true);
          continue;
        }
        const rest = word.slice(j + 1);
        setParam(spec.name, rest !== "" ? rest : takeValue(`-${letter}`));
        break;
      }
      continue;
    }
    if (settings.stopAtFirstArg) {
      args.push(...argv.slice(i));
      break;
    }
    args.push(word);
  }
  return { values, args, repeated, help: false };
}

function findLong(
  specs: readonly OptionSpec[],
  given: string,
  misplaced: ReadonlyMap<string, string> | undefined,
): OptionSpec {
  const exact = specs.find((s) => s.name === given);
  if (exact) return exact;
  const matches = given === "" ? [] : specs.filter((s) => s.name.startsWith(given));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    const names = matches.map((s) => `--${s.name}`).join(", ");
    throw new CliUsageError(`option --${given} is not a unique prefix: it could be ${names}`);
  }
  throw unknownOption(`--${given}`, misplaced);
}

function unknownOption(shown: string, misplaced: ReadonlyMap<string, string> | undefined): CliUsageError {
  return new CliUsageError(`option ${shown} not recognized`, misplaced?.get(shown));
}

/** The text a parameter was given, or undefined. Flags never reach here (see flag()). */
export function param(parsed: ParsedOptions, name: string): string | undefined {
  const value = parsed.values.get(name);
  return typeof value === "string" ? value : undefined;
}

/** Every value given to a repeatable parameter, in the order typed. */
export function params(parsed: ParsedOptions, name: string): readonly string[] {
  return parsed.repeated?.get(name) ?? [];
}

export function flag(parsed: ParsedOptions, name: string): boolean {
  return parsed.values.get(name) === true;
}
