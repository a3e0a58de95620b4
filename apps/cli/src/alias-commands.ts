import {
  aliasArgument,
  appendAlias,
  checkAliasName,
  directoryCapForms,
  readAliases,
  refuseExisting,
} from "./aliases.js";
import type { CliCommand, CommandContext } from "./command.js";
import { flag, type ParsedOptions } from "./option-parser.js";
import {
  httpError,
  NODE_URL_OPTION,
  nodeDirectory,
  nodeUrl,
  readBody,
  send,
  uploadAuthorization,
} from "./put-get-commands.js";
import { CliUsageError } from "./usage-error.js";

function oneAlias(parsed: ParsedOptions, verb: string, extra: number): string {
  if (parsed.args.length !== 1 + extra) {
    throw new CliUsageError(
      `Wrong number of arguments: expected ${extra === 0 ? "ALIAS" : "ALIAS and a directory cap"}, got ${parsed.args.length}.`,
      `tahoe ${verb} ${extra === 0 ? "ALIAS" : "ALIAS DIRCAP"}`,
    );
  }
  const alias = aliasArgument(parsed.args[0] as string);
  checkAliasName(alias);
  return alias;
}

async function addAlias(parsed: ParsedOptions, context: CommandContext): Promise<number> {
  const alias = oneAlias(parsed, "add-alias", 1);
  const nodeDir = nodeDirectory(context);
  refuseExisting(alias, await readAliases(nodeDir));
  const { readwrite } = directoryCapForms(parsed.args[1] as string);
  await appendAlias(nodeDir, alias, readwrite);
  context.out(`Alias '${alias}' added\n`);
  return 0;
}

/** Tahoe's create_alias: POST /uri?t=mkdir (SDMF, no format argument), then the local append. */
async function createAlias(parsed: ParsedOptions, context: CommandContext): Promise<number> {
  const alias = oneAlias(parsed, "create-alias", 0);
  const nodeDir = nodeDirectory(context);
  refuseExisting(alias, await readAliases(nodeDir));
  const url = await nodeUrl(parsed, context);
  const res = await send(new URL("uri?t=mkdir", url), "POST", undefined, await uploadAuthorization(context));
  if (res.statusCode !== 200 && res.statusCode !== 201)
    throw await httpError(res, `creating the directory for alias '${alias}'`);
  const cap = (await readBody(res)).trim();
  await appendAlias(nodeDir, alias, directoryCapForms(cap).readwrite);
  context.out(`Alias '${alias}' created\n`);
  return 0;
}

/** Python's json.dumps(ensure_ascii=True): non-ASCII as \uXXXX. */
function asciiJson(value: unknown, indent: number): string {
  return JSON.stringify(value, null, indent).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Tahoe's list_aliases: sorted names right-aligned to the widest quoted name, or --json. */
async function listAliases(parsed: ParsedOptions, context: CommandContext): Promise<number> {
  if (parsed.args.length > 0) {
    throw new CliUsageError(
      `Wrong number of arguments: tahoe list-aliases takes none, got ${parsed.args.length}.`,
    );
  }
  const aliases = await readAliases(nodeDirectory(context));
  const names = [...aliases.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const data: Record<string, { readwrite: string; readonly: string }> = {};
  for (const name of names) data[name] = directoryCapForms(aliases.get(name) as string);
  if (flag(parsed, "json")) {
    context.out(`${asciiJson(data, 4)}\n`);
    return 0;
  }
  if (names.length === 0) return 0;
  // quote_output adds two quote marks, so the names sit two columns in from the widest.
  const width = Math.max(...names.map((n) => n.length + 2));
  const readonly = flag(parsed, "readonly-uri");
  const lines = names.map((n) => {
    const caps = data[n] as { readwrite: string; readonly: string };
    return `${n.padStart(width)}: ${readonly ? caps.readonly : caps.readwrite}`;
  });
  context.out(`${lines.join("\n")}\n`);
  return 0;
}

export const addAliasCommand: CliCommand = {
  name: "add-alias",
  group: "Using the filesystem",
  summary: "Add a new alias cap.",
  synopsis: "[options] ALIAS[:] DIRCAP",
  description:
    "Add a new alias for an existing directory cap to NODEDIR/private/aliases, as the line 'ALIAS: DIRCAP'. " +
    "The cap must be a directory cap; an existing alias is never replaced. No request goes to the node.",
  options: () => [],
  run: addAlias,
};

export const createAliasCommand: CliCommand = {
  name: "create-alias",
  group: "Using the filesystem",
  summary: "Create a new directory and add an alias for it.",
  synopsis: "[options] ALIAS[:]",
  description:
    "Create a new empty (SDMF) directory on the grid through the node's web API (POST /uri?t=mkdir) " +
    "and add it to NODEDIR/private/aliases as ALIAS.",
  options: (context) => [NODE_URL_OPTION(context)],
  run: createAlias,
};

export const listAliasesCommand: CliCommand = {
  name: "list-aliases",
  group: "Using the filesystem",
  summary: "List all alias caps.",
  synopsis: "[options]",
  description:
    "List the aliases of NODEDIR/private/aliases (and 'tahoe' from private/root_dir.cap), sorted by name.",
  options: () => [
    { name: "readonly-uri", takesValue: false, help: "Show read-only dircaps instead of readwrite" },
    { name: "json", takesValue: false, help: "Show JSON output" },
  ],
  run: listAliases,
};
