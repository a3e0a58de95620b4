import { gridPathUrl } from "./aliases.js";
import type { CliCommand, CommandContext } from "./command.js";
import { gridPath } from "./dir-commands.js";
import { flag, type OptionSpec, type ParsedOptions } from "./option-parser.js";
import { httpError, NODE_URL_OPTION, nodeUrl, readBody, send } from "./put-get-commands.js";

type Json = Record<string, unknown>;

function corruptLines(results: Json | undefined): string[] {
  const corrupt = (results?.["list-corrupt-shares"] ?? []) as [string, string, number][];
  if (corrupt.length === 0) return [];
  return [
    " corrupt shares:",
    ...corrupt.map(([server, si, shnum]) => `  server ${server}, SI ${si}, shnum ${shnum}`),
  ];
}

function countLines(cr: Json): string[] {
  return [
    ` good-shares: ${cr["count-shares-good"]} (encoding is ${cr["count-shares-needed"]}-of-${cr["count-shares-expected"]})`,
    ` wrong-shares: ${cr["count-wrong-shares"]}`,
  ];
}

/** Tahoe's tahoe_check.check_output, line for line. */
export function formatCheckOutput(data: Json, repair: boolean): string {
  const lines: string[] = [];
  const si = String(data["storage-index"] ?? "");
  if (repair) {
    const pre = (data["pre-repair-results"] ?? { results: { healthy: true } }) as Json;
    const cr = (pre.results ?? {}) as Json;
    lines.push(`Summary: ${cr.healthy ? "healthy" : "not healthy"}`, ` storage index: ${si}`);
    if ("count-shares-good" in cr) lines.push(...countLines(cr));
    lines.push(...corruptLines(cr));
    if (data["repair-attempted"])
      lines.push(data["repair-successful"] ? " repair successful" : " repair failed");
  } else {
    const cr = (data.results ?? {}) as Json;
    lines.push(`Summary: ${String(data.summary ?? "Healthy (LIT)")}`, ` storage index: ${si}`);
    if (
      ["count-shares-good", "count-shares-needed", "count-shares-expected", "count-wrong-shares"].every(
        (f) => f in cr,
      )
    ) {
      lines.push(...countLines(cr));
    }
    lines.push(...corruptLines(cr));
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Tahoe's tahoe_check.check: each location is `ALIAS:PATH`, `ALIAS:`, a bare cap or a path under
 * the default alias (get_alias), checked with `POST uri/CAP[/PATH]?t=check&output=JSON`; none
 * checks the `tahoe:` alias's directory. The first failure ends the run.
 */
async function check(parsed: ParsedOptions, context: CommandContext): Promise<number> {
  const url = await nodeUrl(parsed, context);
  const repair = flag(parsed, "repair");
  const locations = parsed.args.length === 0 ? [""] : parsed.args;
  for (const location of locations) {
    const target = await gridPath(location, context);
    let query = "t=check&output=JSON";
    if (flag(parsed, "verify")) query += "&verify=true";
    if (repair) query += "&repair=true";
    if (flag(parsed, "add-lease")) query += "&add-lease=true";
    const res = await send(new URL(`${gridPathUrl(target)}?${query}`, url), "POST", undefined, {});
    if (res.statusCode !== 200) throw await httpError(res, `checking ${location || "tahoe:"}`);
    const body = await readBody(res);
    if (flag(parsed, "raw")) {
      context.out(`${body.trimEnd()}\n`);
      continue;
    }
    context.out(formatCheckOutput(JSON.parse(body) as Json, repair));
  }
  return 0;
}

/** The flags `tahoe check` and `tahoe deep-check` share, in Tahoe-LAFS's words. */
export const CHECK_FLAG_OPTIONS: readonly OptionSpec[] = [
  { name: "raw", takesValue: false, help: "Display raw JSON data instead of parsed." },
  {
    name: "verify",
    takesValue: false,
    help: "Verify all hashes, instead of merely querying share presence.",
  },
  { name: "repair", takesValue: false, help: "Automatically repair any problems found." },
  { name: "add-lease", takesValue: false, help: "Add/renew lease on all shares." },
];

export const checkCommand: CliCommand = {
  name: "check",
  group: "Using the filesystem",
  summary: "Check a single file or directory.",
  synopsis: "[options] [ALIAS:PATH]",
  description:
    "Ask the node to check each file or directory named (ALIAS:PATH, a cap, or a cap/PATH; none " +
    "means the tahoe: alias): which servers hold which shares (and with --verify, " +
    "read and check every block of every share). --repair re-creates missing shares on servers " +
    "placement allows; --add-lease renews this node's lease on every share. Prints Tahoe's summary, " +
    "or the node's JSON with --raw. A directory cap checks the directory's own file; tahoe deep-check walks a tree.",
  options: (context) => [NODE_URL_OPTION(context), ...CHECK_FLAG_OPTIONS],
  run: check,
};
