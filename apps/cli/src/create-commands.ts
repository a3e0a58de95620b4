import { join } from "node:path";
import type { CliCommand, CommandContext } from "./command.js";
import { createOptionSpecs, type NodeKind, readCreateRequest } from "./create-options.js";
import type { ParsedOptions } from "./option-parser.js";
import { quotePath } from "./paths.js";

async function runCreate(kind: NodeKind, parsed: ParsedOptions, context: CommandContext): Promise<number> {
  const request = readCreateRequest(kind, parsed, context);
  // Loaded only when a create verb runs: they pull in config, crypto and transport.
  const [{ checkCreateValues }, { createNodeDirectory }] = await Promise.all([
    import("./check-values.js"),
    import("./create-node-directory.js"),
  ]);
  checkCreateValues(request, parsed);
  await createNodeDirectory(request, { allocatePort: context.io.allocatePort, progress: context.err });
  const { basedir } = request;
  if (kind === "introducer") {
    context.out(`Introducer created in ${quotePath(basedir)}\n`);
    return 0;
  }
  context.out(`Node created in ${quotePath(basedir)}\n`);
  if (request.introducer === undefined) {
    context.out(` Please add introducers to ${quotePath(join(basedir, "private", "introducers.yaml"))}!\n`);
    context.out(" The node cannot connect to a grid without it.\n");
  }
  if (request.nickname === "") {
    context.out(` Please set [node]nickname= in ${quotePath(join(basedir, "tahoe.cfg"))}\n`);
  }
  return 0;
}

export const createNodeCommand: CliCommand = {
  name: "create-node",
  group: "Administration",
  summary: "Create a node that acts as a client, server or both.",
  synopsis: "[options] [NODEDIR]",
  description:
    "Create a full Tahoe-LAFS node (client+server).\n\n" +
    "Other nodes reach it at --hostname=NAME (a free TCP port is chosen now and written to " +
    "tahoe.cfg as tub.port and tub.location), or at an explicit --port= and --location=. " +
    "--listen=none --no-storage makes a node that accepts no connections.",
  options: (context) => createOptionSpecs("node", context),
  run: (parsed, context) => runCreate("node", parsed, context),
};

export const createClientCommand: CliCommand = {
  name: "create-client",
  group: "Administration",
  summary: "Create a client node (with storage initially disabled).",
  synopsis: "[options] [NODEDIR]",
  description:
    "Create a client-only Tahoe-LAFS node (no storage server). It makes only outbound " +
    "connections: tub.port and tub.location are disabled.",
  options: (context) => createOptionSpecs("client", context),
  run: (parsed, context) => runCreate("client", parsed, context),
};

export const createIntroducerCommand: CliCommand = {
  name: "create-introducer",
  group: "Administration",
  summary: "Create an introducer node.",
  synopsis: "[options] NODEDIR",
  description:
    "Create a Tahoe-LAFS introducer.\n\n" +
    "Nodes reach it at --hostname=NAME (a free TCP port is chosen now and written to tahoe.cfg), " +
    "or at an explicit --port= and --location=.",
  options: (context) => createOptionSpecs("introducer", context),
  run: (parsed, context) => runCreate("introducer", parsed, context),
};
