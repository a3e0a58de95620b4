import type { FastifyReply, FastifyRequest } from "fastify";
import { parseFileCap } from "./caps.js";
import { abortOnClose } from "./disconnect.js";
import { WebError } from "./errors.js";
import { html, type SafeHtml } from "./html.js";
import { page } from "./page.js";
import { badRequest, type Query } from "./request-args.js";
import type { WebCheckAndRepairResults, WebCheckResults, WebNode } from "./web-node.js";

const TRUE_WORDS = new Set(["true", "t", "1", "on", "yes", "y"]);
const FALSE_WORDS = new Set(["false", "f", "0", "off", "no", "n", ""]);

/** Tahoe's boolean_of_arg: true/t/1/on (any case) or false/f/0/off; anything else is a 400. */
export function checkFlag(query: Query, name: string): boolean {
  const value = query[name];
  if (value === undefined) return false;
  const word = value.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw badRequest(
    `t=check: ${name}=${JSON.stringify(value.slice(0, 40))} is not a boolean`,
    `${name}= takes true or false.`,
  );
}

/** Tahoe's json_check_counts plus healthy/recoverable (web/check_results.py). */
export function jsonCheckResults(r: WebCheckResults): Record<string, unknown> {
  if (r.storageIndex === "") return { "storage-index": "", results: { healthy: true } };
  return {
    "storage-index": r.storageIndex,
    summary: r.summary,
    results: {
      "count-happiness": r.happiness,
      "count-shares-good": r.sharesGood,
      "count-shares-needed": r.sharesNeeded,
      "count-shares-expected": r.sharesExpected,
      "count-good-share-hosts": r.goodShareHosts,
      "count-corrupt-shares": r.corruptShares.length,
      "list-corrupt-shares": r.corruptShares.map((c) => [c.serverId, c.storageIndex, c.shareNumber]),
      "servers-responding": [...r.serversResponding],
      sharemap: Object.fromEntries(
        [...r.sharemap].map(([sn, ids]) => [
          r.shareIdPrefix === undefined ? String(sn) : `${r.shareIdPrefix}sh${sn}`,
          [...ids],
        ]),
      ),
      "count-wrong-shares": r.wrongShares,
      "count-recoverable-versions": r.recoverableVersions,
      "count-unrecoverable-versions": r.unrecoverableVersions,
      healthy: r.healthy,
      recoverable: r.recoverable,
    },
  };
}

/** Tahoe's json_check_and_repair_results. */
export function jsonCheckAndRepairResults(r: WebCheckAndRepairResults): Record<string, unknown> {
  if (r.storageIndex === "") return { "storage-index": "", "repair-attempted": false };
  return {
    "storage-index": r.storageIndex,
    "repair-attempted": r.repairAttempted,
    "repair-successful": r.repairSuccessful,
    "pre-repair-results": jsonCheckResults(r.preRepair),
    "post-repair-results": jsonCheckResults(r.postRepair),
  };
}

function verdict(r: WebCheckResults): string {
  if (r.healthy) return "Healthy";
  return r.recoverable ? "Not Healthy!" : "Not Recoverable!";
}

function resultsHtml(r: WebCheckResults): SafeHtml {
  const shares = [...r.sharemap].flatMap(([sn, ids]) =>
    ids.map((id) => html`<tr><td>${String(sn)}</td><td><tt>${id}</tt></td></tr>`),
  );
  const corrupt = r.corruptShares.map(
    (c) => html`<tr><td>sh#${String(c.shareNumber)}</td><td><tt>${c.serverId}</tt></td></tr>`,
  );
  return html`<ul>
<li>Share Counts: need ${String(r.sharesNeeded)}-of-${String(r.sharesExpected)}, have ${String(r.sharesGood)}</li>
<li>Happiness Level: ${String(r.happiness)}</li>
<li>Hosts with good shares: ${String(r.goodShareHosts)}</li>
<li>Corrupt shares: ${corrupt.length === 0 ? "none" : html`<table><tr><th>Share ID</th><th>Node ID</th></tr>${corrupt}</table>`}</li>
<li>Wrong Shares: ${String(r.wrongShares)}</li>
<li>Good Shares (sorted in share order): <table><tr><th>Share ID</th><th>Node ID</th></tr>${shares}</table></li>
<li>Recoverable Versions: ${String(r.recoverableVersions)}</li>
<li>Unrecoverable Versions: ${String(r.unrecoverableVersions)}</li>
</ul>`;
}

function checkPage(r: WebCheckResults): string {
  if (r.storageIndex === "") {
    return page(
      "Tahoe-LAFS - Check Results",
      html`<h1>File Check Results for LIT file</h1><div>Literal files are always healthy: their data is inlined</div>`,
    );
  }
  return page(
    "Tahoe-LAFS - Check Results",
    html`<h1>File Check Results for SI=${r.storageIndex}</h1><div>${verdict(r)} : ${r.summary}</div>${resultsHtml(r)}`,
  );
}

function repairPage(r: WebCheckAndRepairResults): string {
  if (r.storageIndex === "") {
    return page(
      "Tahoe-LAFS - Check Results",
      html`<h1>File Check Results for LIT file</h1><div>No repair necessary</div>`,
    );
  }
  // A read-only or verify cap of an unhealthy mutable file: Tahoe does not try, and says why here.
  const outcome = !r.repairAttempted
    ? r.repairProblem
      ? `Repair not attempted: ${r.repairProblem}`
      : "No repair necessary"
    : r.repairSuccessful
      ? "Repair successful"
      : `Repair unsuccessful${r.repairProblem ? `: ${r.repairProblem}` : ""}`;
  return page(
    "Tahoe-LAFS - Check Results",
    html`<h1>File Check-And-Repair Results for SI=${r.storageIndex}</h1>
<div>${verdict(r.postRepair)} : ${r.postRepair.summary}</div><div>${outcome}</div>
${r.repairAttempted ? html`<div>Pre-Repair Checker Results:</div>${resultsHtml(r.preRepair)}` : ""}
<div>Post-Repair Checker Results:</div>${resultsHtml(r.postRepair)}`,
  );
}

/**
 * `POST /uri/CAP?t=check[&verify=true][&repair=true][&add-lease=true][&output=JSON]` on a
 * file cap (CHK, LIT, SDMF, MDMF, or their verify caps): Tahoe's check results as JSON
 * (text/plain, as Tahoe sends it) or a small HTML page.
 */
export async function replyToCheck(
  request: FastifyRequest<{ Params: { cap: string } }>,
  reply: FastifyReply,
  node: WebNode,
  query: Query,
  /** Repair writes shares: it needs what an upload needs. */
  assertMayWrite: () => Promise<void>,
  /** A directory's backing file cap, checked in the directory's place. */
  backingCap?: string,
): Promise<FastifyReply> {
  const verify = checkFlag(query, "verify");
  const repair = checkFlag(query, "repair");
  const addLease = checkFlag(query, "add-lease");
  const json = (query.output ?? "").trim().toLowerCase() === "json";
  const capText = backingCap ?? request.params.cap.trim();
  if (backingCap === undefined) parseFileCap(capText);
  const signal = abortOnClose(reply);
  const send = (body: string, type: string) => reply.code(200).type(type).send(body);
  if (repair) {
    await assertMayWrite();
    if (node.checkAndRepairFile === undefined) throw notSupported();
    const r = await node.checkAndRepairFile(capText, { verify, addLease, signal });
    return json
      ? send(`${JSON.stringify(jsonCheckAndRepairResults(r), null, 1)}\n`, "text/plain; charset=utf-8")
      : send(repairPage(r), "text/html; charset=utf-8");
  }
  if (node.checkFile === undefined) throw notSupported();
  const r = await node.checkFile(capText, { verify, addLease, signal });
  return json
    ? send(`${JSON.stringify(jsonCheckResults(r), null, 1)}\n`, "text/plain; charset=utf-8")
    : send(checkPage(r), "text/html; charset=utf-8");
}

function notSupported(): WebError {
  return new WebError("TAHOE_ERR_WEB_NOT_SUPPORTED", 501, "t=check is not supported by this node", {
    hint: "Run a node built with the checker (apps/node).",
  });
}
