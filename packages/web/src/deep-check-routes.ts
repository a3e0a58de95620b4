import { Readable } from "node:stream";
import type { FastifyReply } from "fastify";
import { jsonCheckAndRepairResults, jsonCheckResults } from "./check-routes.js";
import { verifyCapText } from "./directory-json.js";
import { WebError } from "./errors.js";
import type { WebCheckOptions, WebDirectory, WebNode } from "./web-node.js";

/** How many checks run at once: each asks every server, so a few keep the grid busy enough. */
const CHECKS_AT_ONCE = 4;

/**
 * The file cap a directory is stored in (Tahoe's dirnode._node): DIR2 is an SDMF file, DIR2-MDMF
 * an MDMF one, DIR2-CHK a CHK one and DIR2-LIT a LIT one; read-only and verify caps alike.
 */
export function backingFileCap(dirCap: string): string {
  const m = /^URI:DIR2(-MDMF|-CHK|-LIT)?(-RO|-Verifier)?:/.exec(dirCap.trim());
  if (m === null) {
    throw new WebError("TAHOE_ERR_WEB_BAD_CAP", 400, `'${dirCap.slice(0, 60)}' is not a directory cap`, {
      hint: "t=check on a directory takes URI:DIR2..., URI:DIR2-MDMF..., URI:DIR2-CHK... or URI:DIR2-LIT....",
    });
  }
  const kind = { "": "SSK", "-MDMF": "MDMF", "-CHK": "CHK", "-LIT": "LIT" }[m[1] ?? ""] as string;
  return `URI:${kind}${m[2] ?? ""}:${dirCap.trim().slice(m[0].length)}`;
}

interface Unit {
  type: "file" | "directory";
  path: string[];
  cap: string;
  /** The file cap whose shares are checked. */
  checkCap: string;
  verifycap: string;
  repaircap: string;
}

interface DeepCheckArgs {
  readonly node: WebNode;
  readonly repair: boolean;
  readonly options: WebCheckOptions;
  readonly open: (cap: string) => Promise<WebDirectory>;
}

/**
 * Every file and directory under `root` once, depth first. As Tahoe's deep traversal does, a
 * node reached again (same verify cap: a second link, or a loop) is neither checked nor walked.
 */
async function* unitsUnder(root: WebDirectory, a: DeepCheckArgs): AsyncGenerator<Unit> {
  const seen = new Set<string>();
  async function* visit(d: WebDirectory, path: string[]): AsyncGenerator<Unit> {
    yield {
      type: "directory",
      path,
      cap: d.cap,
      checkCap: backingFileCap(d.cap),
      verifycap: d.verifyCap ?? "",
      repaircap: d.writable ? d.cap : "",
    };
    for (const e of await d.list()) {
      const cap = e.writeCap ?? e.readCap;
      if (cap === undefined || e.kind === "unknown") continue;
      // LIT files and DIR2-LIT directories have no verify cap: their contents are in the cap.
      const key = verifyCapText(cap);
      if (key !== undefined) {
        if (seen.has(key)) continue;
        seen.add(key);
      }
      if (e.kind === "dirnode") yield* visit(await a.open(cap), [...path, e.name]);
      else
        yield {
          type: "file",
          path: [...path, e.name],
          cap,
          checkCap: cap,
          verifycap: verifyCapText(cap) ?? "",
          repaircap: cap,
        };
    }
  }
  if (root.verifyCap !== undefined) seen.add(root.verifyCap);
  yield* visit(root, []);
}

async function checkedLine(u: Unit, a: DeepCheckArgs, stats: Record<string, number>): Promise<string> {
  const data: Record<string, unknown> = {
    path: u.path,
    cap: u.cap,
    type: u.type,
    verifycap: u.verifycap,
    repaircap: u.repaircap,
  };
  if (a.repair) {
    const r = await (a.node.checkAndRepairFile as NonNullable<WebNode["checkAndRepairFile"]>)(
      u.checkCap,
      a.options,
    );
    data["storage-index"] = r.storageIndex;
    data["check-and-repair-results"] = jsonCheckAndRepairResults(r);
  } else {
    const r = await (a.node.checkFile as NonNullable<WebNode["checkFile"]>)(u.checkCap, a.options);
    data["storage-index"] = r.storageIndex;
    data["check-results"] = jsonCheckResults(r);
  }
  const key = u.type === "directory" ? "count-directories" : "count-files";
  stats[key] = (stats[key] ?? 0) + 1;
  return `${JSON.stringify(data)}\n`;
}

/** Check lines in walk order, at most CHECKS_AT_ONCE checks in flight. */
async function* deepCheckLines(root: WebDirectory, a: DeepCheckArgs): AsyncGenerator<string> {
  const stats: Record<string, number> = { "count-directories": 0, "count-files": 0 };
  const inFlight: Promise<string>[] = [];
  for await (const unit of unitsUnder(root, a)) {
    const line = checkedLine(unit, a, stats);
    line.catch(() => {}); // awaited below in order; this keeps an early failure from being unhandled
    inFlight.push(line);
    if (inFlight.length >= CHECKS_AT_ONCE) yield await (inFlight.shift() as Promise<string>);
  }
  while (inFlight.length > 0) yield await (inFlight.shift() as Promise<string>);
  yield `${JSON.stringify({ type: "stats", stats })}\n`;
}

/**
 * `POST DIR?t=stream-deep-check[&verify=][&repair=][&add-lease=]`: one JSON line per file and
 * directory with its check (or check-and-repair) results, then a stats line, as Tahoe's
 * DeepCheckStreamer writes them. The first line is made before the headers go out, so a
 * failure to read the top directory still gets an error page.
 */
export async function replyToDeepCheck(
  reply: FastifyReply,
  root: WebDirectory,
  a: DeepCheckArgs,
): Promise<FastifyReply> {
  if ((a.repair ? a.node.checkAndRepairFile : a.node.checkFile) === undefined) {
    throw new WebError(
      "TAHOE_ERR_WEB_NOT_SUPPORTED",
      501,
      "t=stream-deep-check is not supported by this node",
      {
        hint: "Run a node built with the checker (apps/node).",
      },
    );
  }
  const lines = deepCheckLines(root, a);
  const first = await lines.next();
  async function* rest(): AsyncGenerator<string> {
    if (!first.done) yield first.value;
    try {
      yield* lines;
    } catch (error) {
      // The status line is gone already: Tahoe ends the stream with a non-JSON "ERROR:" line.
      const e = error as { code?: string; message?: string };
      yield `ERROR: ${e.code ?? "Error"}(${String(e.message ?? error).replace(/\n/g, " ")})\n`;
    }
  }
  return reply.code(200).type("text/plain; charset=utf-8").send(Readable.from(rest()));
}
