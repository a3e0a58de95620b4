import { randomBytes } from "node:crypto";
import { base32Encode } from "@lafs/crypto";
import { gridPathUrl } from "./aliases.js";
import type { CliCommand, CommandContext } from "./command.js";
import { gridPath } from "./dir-commands.js";
import { flag, type ParsedOptions } from "./option-parser.js";
import {
  httpError,
  NODE_URL_OPTION,
  nodeUrl,
  readBody,
  send,
  uploadAuthorization,
} from "./put-get-commands.js";
import { CliUsageError } from "./usage-error.js";

type Json = Record<string, unknown>;

/** Python's '%.2f': the double rounded exactly, a tie to even (JavaScript's toFixed rounds a tie up). */
function fixed2(x: number): string {
  // A double exactly halfway at two decimals is odd/8 (200 = 8 * 25 and the 25 must cancel).
  const eighths = x * 8;
  if (Number.isInteger(eighths) && eighths % 2 !== 0) {
    const down = Math.floor(x * 100);
    return ((down % 2 === 0 ? down : down + 1) / 100).toFixed(2);
  }
  return x.toFixed(2);
}

/** Tahoe's abbreviate_space (util/abbreviate.py). */
export function abbreviateSpace(s: number, si: boolean): string {
  const u = si ? 1000 : 1024;
  const suffix = si ? "B" : "iB";
  if (s < 1024) return `${s} B`; // 1000-1023 are bytes even in SI mode, as in Tahoe
  const units = ["k", "M", "G", "T", "P"];
  for (let i = 0; i < units.length; i++) {
    if (s < u ** (i + 2)) return `${fixed2(s / u ** (i + 1))} ${units[i]}${suffix}`;
  }
  return `${fixed2(s / u ** 6)} E${suffix}`;
}

/** Tahoe's abbreviate_space_both: "(1.05 MB, 1.00 MiB)". */
export function abbreviateSpaceBoth(s: number): string {
  return `(${abbreviateSpace(s, true)}, ${abbreviateSpace(s, false)})`;
}

const STATS_KEYS = [
  "count-immutable-files",
  "count-mutable-files",
  "count-literal-files",
  "count-files",
  "count-directories",
  "size-immutable-files",
  "size-mutable-files",
  "size-literal-files",
  "size-directories",
  "largest-directory",
  "largest-immutable-file",
];

/** Tahoe's StatsGrabber.write_results, line for line. */
export function formatStats(data: Json): string {
  const width = Math.max(...STATS_KEYS.map((k) => k.length));
  const lines = ["Counts and Total Sizes:"];
  for (const k of STATS_KEYS) {
    if (!(k in data)) continue;
    const value = Number(data[k]);
    const line = `${k.padStart(width)}: ${Math.trunc(value)}`;
    // Python's print(a, "  ", b) puts a space either side of the "  ".
    lines.push(!k.startsWith("count-") && value > 1000 ? `${line}    ${abbreviateSpaceBoth(value)}` : line);
  }
  const histogram = (data["size-files-histogram"] ?? []) as [number, number, number][];
  if (histogram.length > 0) {
    lines.push("Size Histogram:");
    const maxlen = Math.max(...histogram.map(([, max]) => String(max).length));
    const countlen = Math.max(...histogram.map(([, , count]) => String(count).length));
    let prevmax: number | undefined;
    for (const [min, max, count] of histogram) {
      if (prevmax !== undefined && min !== prevmax + 1) lines.push(`${" ".repeat(maxlen - 1)}...`);
      prevmax = max;
      lines.push(
        `${String(min).padStart(maxlen)}-${String(max).padEnd(maxlen)} : ${String(count).padEnd(countlen)}    ${abbreviateSpaceBoth(max)}`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

/** Tahoe's SlowOperationRunner.poll_times: 1, 5, 10, 30, 60, 90 seconds, then every 120. */
export function* pollTimes(): Generator<number> {
  yield* [1, 5, 10, 30, 60, 90];
  for (let t = 120; ; t += 120) yield t;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Tahoe's SlowOperationRunner: a random ophandle, `POST PATH?t=start-...&ophandle=H`, then
 * `GET /operations/H?t=status&output=JSON&release-after-complete=true` on Tahoe's schedule until
 * the operation is finished; answers its JSON (text and parsed).
 */
export async function runSlowOperation(
  parsed: ParsedOptions,
  context: CommandContext,
  start: string,
  what: string,
): Promise<{ text: string; data: Json }> {
  if (parsed.args.length > 1)
    throw new CliUsageError(`Wrong number of arguments: expected one PATH, got ${parsed.args.length}.`);
  const target = await gridPath(parsed.args[0] ?? "", context);
  const base = await nodeUrl(parsed, context);
  const handle = base32Encode(randomBytes(16));
  const startUrl = new URL(`${gridPathUrl(target)}?t=${start}&ophandle=${handle}`, base);
  const res = await send(startUrl, "POST", undefined, await uploadAuthorization(context));
  if (res.statusCode !== 200 && res.statusCode !== 302) throw await httpError(res, what);
  res.resume();
  let last = 0;
  for (const next of pollTimes()) {
    await sleep((next - last) * 1000);
    last = next;
    const url = new URL(`operations/${handle}?t=status&output=JSON&release-after-complete=true`, base);
    const poll = await send(url, "GET", undefined, {});
    if (poll.statusCode !== 200) throw await httpError(poll, what);
    const text = await readBody(poll);
    const data = JSON.parse(text) as Json;
    if (data.finished) return { text, data };
  }
  throw new Error("unreachable: the poll schedule never ends");
}

/** Tahoe's tahoe_manifest.stats: deep-stats as a table and histogram, or the JSON with --raw. */
async function stats(parsed: ParsedOptions, context: CommandContext): Promise<number> {
  const { text, data } = await runSlowOperation(parsed, context, "start-deep-stats", "gathering stats");
  context.out(flag(parsed, "raw") ? `${text.trimEnd()}\n` : formatStats(data));
  return 0;
}

export const statsCommand: CliCommand = {
  name: "stats",
  group: "Using the filesystem",
  summary: "Print statistics about all files/dirs in a subtree.",
  synopsis: "[options] [ALIAS:PATH]",
  description:
    "Print statistics about all files and directories reachable from PATH (POST PATH?" +
    "t=start-deep-stats, then /operations/H until it is done): counts, total sizes, the largest " +
    "directory and file, and a histogram of file sizes. --raw prints the node's JSON.",
  options: (context) => [
    NODE_URL_OPTION(context),
    { name: "raw", short: "r", takesValue: false, help: "Display raw JSON data instead of parsed" },
  ],
  run: stats,
};
