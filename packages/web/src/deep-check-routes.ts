import { Readable } from "node:stream";
import type { FastifyReply } from "fastify";
import { jsonCheckAndRepairResults, jsonCheckResults } from "./check-routes.js";
import { assertCanCheck, CHECKS_AT_ONCE, checkNode, type DeepCheckArgs } from "./deep-check-results.js";
import { DeepStats } from "./deep-stats.js";
import { inWalkOrder, manifestUnit, type WalkedNode } from "./deep-walk.js";
import type { WebDirectory } from "./web-node.js";

interface StreamArgs extends DeepCheckArgs {
  readonly open: (cap: string) => Promise<WebDirectory>;
}

async function checkedLine(n: WalkedNode, a: DeepCheckArgs): Promise<string> {
  const data = manifestUnit(n);
  const outcome = await checkNode(n, a);
  if (a.repair) {
    data["check-and-repair-results"] =
      outcome?.kind === "repair"
        ? jsonCheckAndRepairResults(outcome.results)
        : { "storage-index": "", "repair-attempted": false };
  } else {
    data["check-results"] =
      outcome?.kind === "check"
        ? jsonCheckResults(outcome.results)
        : { "storage-index": "", results: { healthy: true } };
  }
  return `${JSON.stringify(data)}\n`;
}

/** Check lines in walk order, then Tahoe's stats line. */
async function* deepCheckLines(root: WebDirectory, a: StreamArgs): AsyncGenerator<string> {
  const stats = new DeepStats();
  yield* inWalkOrder(root, a.open, stats, (n) => checkedLine(n, a), CHECKS_AT_ONCE, a.options.signal);
  yield `${JSON.stringify({ type: "stats", stats: stats.results() })}\n`;
}

/** Manifest lines in walk order, then Tahoe's stats line (ManifestStreamer). */
async function* manifestLines(
  root: WebDirectory,
  open: (cap: string) => Promise<WebDirectory>,
  signal: AbortSignal,
): AsyncGenerator<string> {
  const stats = new DeepStats();
  const line = async (n: WalkedNode) => `${JSON.stringify(manifestUnit(n))}\n`;
  yield* inWalkOrder(root, open, stats, line, 1, signal);
  yield `${JSON.stringify({ type: "stats", stats: stats.results() })}\n`;
}

/**
 * Streams `lines` as text/plain. The first line is made before the headers go out, so a failure
 * to read the top directory still gets an error page; a later failure ends the stream with
 * Tahoe's non-JSON "ERROR: name(message)" line, the status line being gone already.
 */
async function streamLines(reply: FastifyReply, lines: AsyncGenerator<string>): Promise<FastifyReply> {
  const first = await lines.next();
  async function* rest(): AsyncGenerator<string> {
    if (!first.done) yield first.value;
    try {
      yield* lines;
    } catch (error) {
      const e = error as { code?: string; message?: string };
      yield `ERROR: ${e.code ?? "Error"}(${String(e.message ?? error).replace(/\n/g, " ")})\n`;
    }
  }
  return reply.code(200).type("text/plain; charset=utf-8").send(Readable.from(rest()));
}

/**
 * `POST DIR?t=stream-deep-check[&verify=][&repair=][&add-lease=]`: one JSON line per file and
 * directory with its check (or check-and-repair) results, then a stats line, as Tahoe's
 * DeepCheckStreamer writes them.
 */
export async function replyToDeepCheck(
  reply: FastifyReply,
  root: WebDirectory,
  a: StreamArgs,
): Promise<FastifyReply> {
  assertCanCheck(a, "t=stream-deep-check");
  return streamLines(reply, deepCheckLines(root, a));
}

/**
 * `POST DIR?t=stream-manifest`: one JSON line per file, directory and unknown node (path, cap,
 * verifycap, repaircap, storage-index), then the deep-stats line, as Tahoe streams them.
 */
export async function replyToStreamManifest(
  reply: FastifyReply,
  root: WebDirectory,
  open: (cap: string) => Promise<WebDirectory>,
  signal: AbortSignal,
): Promise<FastifyReply> {
  return streamLines(reply, manifestLines(root, open, signal));
}
