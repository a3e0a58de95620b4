import type { CliCommand } from "./command.js";
import { DEFAULT_GRID_DIR, DEFAULT_GRID_SERVERS } from "./grid-defaults.js";
import { CliUsageError } from "./usage-error.js";

export const gridCommand: CliCommand = {
  name: "grid",
  group: "Administration",
  summary: "Run a local grid of nodes on 127.0.0.1.",
  synopsis: "up [options] [DIR]",
  description:
    "'tahoe grid up' runs a whole grid on this machine, each node a 'tahoe run' process: an " +
    "introducer, --servers storage nodes and one client with a web server on 127.0.0.1, then " +
    "prints the client's web URL and runs until Ctrl-C (or SIGTERM), which stops every node.\n\n" +
    `The first time, it creates DIR (default ./${DEFAULT_GRID_DIR}) with introducer/, storage1/ ... ` +
    "and client/ in it (3-of-5 encoding, happy = 4, lowered for fewer servers). Later runs reuse " +
    "what is there; a larger --servers adds storage nodes. If a node dies, the grid shows its " +
    "last lines of output, stops the others and exits 1.",
  options: () => [
    {
      name: "servers",
      takesValue: true,
      defaultValue: String(DEFAULT_GRID_SERVERS),
      help: "How many storage nodes to run (a reused DIR keeps the number it has).",
    },
    {
      name: "verbose",
      short: "v",
      takesValue: false,
      help: "Show every node's output, each line prefixed by its name.",
    },
  ],
  run: async (parsed, context) => {
    const [action] = parsed.args;
    if (action !== "up") {
      throw new CliUsageError(
        action === undefined ? "must specify what to do with the grid" : `unknown grid action: ${action}`,
        "Usage: tahoe grid up [--servers=N] [DIR]",
      );
    }
    // The grid's implementation (config, process management) loads only when the verb runs.
    return (await import("./grid-up.js")).up(parsed, context);
  },
};
