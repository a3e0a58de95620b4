import { createInterface } from "node:readline";
import { gridPathUrl } from "./aliases.js";
import { CHECK_FLAG_OPTIONS } from "./check-command.js";
import type { CliCommand, CommandContext } from "./command.js";
import { gridPath } from "./dir-commands.js";
import { flag, type ParsedOptions } from "./option-parser.js";
import { httpError, NODE_URL_OPTION, nodeUrl, send, uploadAuthorization } from "./put-get-commands.js";
import { CliUsageError } from "./usage-error.js";

type Json = Record<string, unknown>;

/** Tahoe's quote_path: the names joined with '/', in single quotes; the top is '<root>'. */
function quotePath(path: readonly string[]): string {
  return `'${path.length === 0 ? "<root>" : path.join("/")}'`;
}

function corruptLines(results: Json | undefined): string[] {
  const corrupt = (results?.["list-corrupt-shares"] ?? []) as [string, string, number][];
  return corrupt.map(([server, si, shnum]) => ` corrupt: server ${server}, SI ${si}, shnum ${shnum}`);
}

/** Tahoe's DeepCheckOutput and DeepCheckAndRepairOutput: per-unit lines and the closing counts. */
export class DeepCheckReport {
  objects = 0;
  private readonly c = {
    healthy: 0,
    unhealthy: 0,
    attempted: 0,
    successful: 0,
    postHealthy: 0,
    postUnhealthy: 0,
  };
  constructor(
    private readonly repair: boolean,
    private readonly verbose: boolean,
  ) {}

  /** The stdout lines for one JSON unit of the stream (none for the stats unit). */
  unit(d: Json): string[] {
    if (d.type !== "file" && d.type !== "directory") return [];
    this.objects += 1;
    const path = (d.path ?? []) as string[];
    // Tahoe prints this marker to stdout every 100 objects, verbose or not.
    const lines: string[] = this.objects % 100 === 0 ? [`${this.objects} objects checked..`] : [];
    if (!this.repair) {
      const cr = (d["check-results"] ?? {}) as Json;
      const results = (cr.results ?? {}) as Json;
      if (results.healthy) this.c.healthy += 1;
      else this.c.unhealthy += 1;
      if (this.verbose) lines.push(`${quotePath(path)}: ${String(cr.summary ?? "Healthy (LIT)")}`);
      return [...lines, ...corruptLines(results)];
    }
    const crr = (d["check-and-repair-results"] ?? {}) as Json;
    const pre = ((crr["pre-repair-results"] as Json | undefined)?.results ?? {}) as Json;
    const post = ((crr["post-repair-results"] as Json | undefined)?.results ?? {}) as Json;
    const wasHealthy = d["storage-index"] ? pre.healthy === true : true;
    if (wasHealthy) this.c.healthy += 1;
    else this.c.unhealthy += 1;
    if (!d["storage-index"] || post.healthy) this.c.postHealthy += 1;
    else this.c.postUnhealthy += 1;
    if (crr["repair-attempted"]) {
      this.c.attempted += 1;
      if (crr["repair-successful"]) this.c.successful += 1;
    }
    if (this.verbose) lines.push(`${quotePath(path)}: ${wasHealthy ? "healthy" : "not healthy"}`);
    lines.push(...corruptLines(pre));
    if (crr["repair-attempted"])
      lines.push(crr["repair-successful"] ? " repair successful" : " repair failed");
    return lines;
  }

  done(): string[] {
    const c = this.c;
    if (!this.repair)
      return [`done: ${this.objects} objects checked, ${c.healthy} healthy, ${c.unhealthy} unhealthy`];
    return [
      `done: ${this.objects} objects checked`,
      ` pre-repair: ${c.healthy} healthy, ${c.unhealthy} unhealthy`,
      ` ${c.attempted} repairs attempted, ${c.successful} successful, ${c.attempted - c.successful} failed`,
      ` post-repair: ${c.postHealthy} healthy, ${c.postUnhealthy} unhealthy`,
    ];
  }
}

/** Tahoe's tahoe_check.DeepCheckStreamer: POST PATH?t=stream-deep-check, read line by line. */
async function deepCheck(parsed: ParsedOptions, context: CommandContext): Promise<number> {
  if (parsed.args.length > 1)
    throw new CliUsageError(`Wrong number of arguments: expected one PATH, got ${parsed.args.length}.`);
  const target = await gridPath(parsed.args[0] ?? "", context);
  const repair = flag(parsed, "repair");
  let query = "t=stream-deep-check";
  if (flag(parsed, "verify")) query += "&verify=true";
  if (repair) query += "&repair=true";
  if (flag(parsed, "add-lease")) query += "&add-lease=true";
  const url = new URL(`${gridPathUrl(target)}?${query}`, await nodeUrl(parsed, context));
  const res = await send(url, "POST", undefined, await uploadAuthorization(context));
  if (res.statusCode !== 200) throw await httpError(res, "deep-checking");
  const raw = flag(parsed, "raw");
  const report = new DeepCheckReport(repair, flag(parsed, "verbose"));
  // Progress is for a person watching: a redrawn count on a terminal's stderr, nothing in a pipe.
  const progress = !raw && !context.global.quiet && process.stderr.isTTY === true;
  let failedLine = false;
  for await (const line of createInterface({ input: res, crlfDelay: Number.POSITIVE_INFINITY })) {
    if (line.trim() === "") continue;
    // As Tahoe: from an "ERROR:" line on, the node's words go to stderr and the exit code is 1.
    if (failedLine || line.startsWith("ERROR:")) {
      failedLine = true;
      context.err(`${line}\n`);
      continue;
    }
    if (raw) {
      context.out(`${line}\n`);
      continue;
    }
    const lines = report.unit(JSON.parse(line) as Json);
    if (progress) context.err("\r\x1b[K");
    for (const l of lines) context.out(`${l}\n`);
    if (progress) context.err(`${report.objects} objects checked..`);
  }
  if (progress) context.err("\r\x1b[K");
  if (failedLine) return 1;
  if (!raw) for (const l of report.done()) context.out(`${l}\n`);
  return 0;
}

export const deepCheckCommand: CliCommand = {
  name: "deep-check",
  group: "Using the filesystem",
  summary: "Check all files/directories reachable from a point.",
  synopsis: "[options] [ALIAS:PATH]",
  description:
    "Check every file and directory under PATH (POST PATH?t=stream-deep-check), each directory " +
    "once. --verify reads every block, --repair re-creates missing shares, --add-lease renews " +
    "leases. Prints Tahoe's counts ('done: N objects checked, ...'), one line per object with -v, " +
    "or the node's JSON lines with --raw. On a terminal, a running count goes to stderr.",
  options: (context) => [
    NODE_URL_OPTION(context),
    ...CHECK_FLAG_OPTIONS,
    { name: "verbose", short: "v", takesValue: false, help: "Be noisy about what is happening." },
  ],
  run: deepCheck,
};
