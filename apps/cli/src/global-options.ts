import type { GlobalOptions, HelpContext } from "./command.js";
import { flag, type OptionSpec, type ParsedOptions, param } from "./option-parser.js";
import { quotePath } from "./paths.js";

export function globalOptionSpecs(context: HelpContext): readonly OptionSpec[] {
  return [
    {
      name: "node-directory",
      short: "d",
      takesValue: true,
      help:
        "Specify which Tahoe node directory should be used. The directory should contain a full " +
        `Tahoe node. [default for most commands: ${quotePath(context.defaultNodeDir)}]`,
    },
    { name: "quiet", short: "q", takesValue: false, help: "Operate silently." },
    { name: "version", short: "V", takesValue: false, help: "Display version numbers." },
  ];
}

export function readGlobalOptions(parsed: ParsedOptions): GlobalOptions {
  return { nodeDirectory: param(parsed, "node-directory"), quiet: flag(parsed, "quiet") };
}

/** Global options typed after the verb: the hint tells the user to move them. */
export function misplacedGlobalOptions(verb: string): ReadonlyMap<string, string> {
  const move = (shown: string, example: string) =>
    `${shown} is a global option: put it before the command, as in 'tahoe ${example} ${verb} ...'.`;
  return new Map([
    ["-d", move("-d", "-d DIR")],
    ["--node-directory", move("--node-directory", "--node-directory=DIR")],
    ["-q", move("-q", "-q")],
    ["--quiet", move("--quiet", "--quiet")],
    ["-V", "-V is a global option: run 'tahoe --version'."],
    ["--version", "--version is a global option: run 'tahoe --version'."],
  ]);
}
