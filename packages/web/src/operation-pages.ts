import type { DeepCheckTally } from "./deep-check-results.js";
import { pythonJson } from "./directory-json.js";
import { html, type SafeHtml } from "./html.js";
import { page } from "./page.js";
import type { SlowOperation } from "./slow-operations.js";
import type { WebNodeStatus } from "./web-node.js";

export interface RenderedOperation {
  readonly type: string;
  readonly body: string;
}

const TEXT = "text/plain; charset=utf-8";
const HTML = "text/html; charset=utf-8";

/** Python's `json.dumps(value)` without indent: ', ' and ': ' separators, ASCII only. */
export function pythonJsonFlat(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJsonFlat).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    const items = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${pythonJson(k)}: ${pythonJsonFlat(v)}`);
    return `{${items.join(", ")}}`;
  }
  return pythonJson(value);
}

/** Tahoe's output= (MultiFormatResource): json or text by name, any case; anything else is HTML. */
export function outputOf(value: string | undefined): "json" | "text" | "html" {
  const v = (value ?? "").trim().toLowerCase();
  return v === "json" ? "json" : v === "text" ? "text" : "html";
}

/** Tahoe's ReloadMixin: a running operation's page reloads itself each minute and offers Cancel. */
function reloadParts(op: SlowOperation, handlePath: string): { head?: SafeHtml; body: SafeHtml } {
  if (op.finished) return { body: html`` };
  return {
    head: html`<meta http-equiv="refresh" content="60">`,
    body: html`<h2>Operation still running: <a href="${handlePath}?output=html">Reload</a></h2>
<form action="${handlePath}?t=cancel" method="POST" enctype="multipart/form-data"><input type="submit" value="Cancel"></form>`,
  };
}

function siShort(si: string): string {
  return si === "" ? "<LIT>" : si.slice(0, 6);
}

/** Tahoe's deep-size: the sum of what deep-stats sized (directories and immutable files). */
function deepSize(op: SlowOperation): number {
  const s = op.stats.results();
  return s["size-immutable-files"] + s["size-directories"];
}

function manifestRender(op: SlowOperation, output: string, status: WebNodeStatus, handlePath: string) {
  const m = op.manifest!;
  if (output === "json") {
    const data: Record<string, unknown> = {
      stats: op.stats.results(),
      finished: op.finished,
      origin: op.origin,
    };
    // As Tahoe: the lists only once the walk is over, to spare both sides while it runs.
    if (op.finished) {
      data.manifest = m.entries;
      data.verifycaps = [...m.verifycaps];
      data["storage-index"] = [...m.storageIndexes];
    }
    return { type: TEXT, body: pythonJson(data) };
  }
  if (output === "text") {
    const lines = [
      `finished: ${op.finished ? "yes" : "no"}`,
      ...m.entries.map(([p, cap]) => `${p.join("/")} ${cap}`),
    ];
    return { type: TEXT, body: `${lines.join("\n")}\n` };
  }
  const reload = reloadParts(op, handlePath);
  const rows = m.entries.map(
    ([p, cap]) =>
      html`<tr><td>${p.join("/")}</td><td><a href="/uri/${encodeURIComponent(cap)}"><code>${cap}</code></a></td></tr>`,
  );
  const title = `Manifest of SI=${siShort(op.origin)}`;
  return {
    type: HTML,
    body: page(
      `${title} - Tahoe-LAFS`,
      html`<h1>${title}</h1>${reload.body}
<table><thead><tr><th>Path</th><th>cap</th></tr></thead><tbody>${rows}</tbody></table>`,
      status,
      reload.head,
    ),
  };
}

function countRows(t: DeepCheckTally): SafeHtml {
  const rows: [string, number][] = t.repair
    ? [
        ["Objects Checked", t.checked],
        ["Objects Healthy (before repair)", t.healthy],
        ["Objects Unhealthy (before repair)", t.unhealthy],
        ["Corrupt Shares (before repair)", t.corruptCount],
        ["Repairs Attempted", t.repairsAttempted],
        ["Repairs Successful", t.repairsSuccessful],
        ["Repairs Unsuccessful", t.repairsAttempted - t.repairsSuccessful],
        ["Objects Healthy (after repair)", t.postHealthy],
        ["Objects Unhealthy (after repair)", t.postUnhealthy],
        ["Corrupt Shares (after repair)", t.corruptPostCount],
      ]
    : [
        ["Objects Checked", t.checked],
        ["Objects Healthy", t.healthy],
        ["Objects Unhealthy", t.unhealthy],
        ["Objects Unrecoverable", t.unrecoverable],
        ["Corrupt Shares", t.corruptCount],
      ];
  return html`<ul>${rows.map(([label, n]) => html`<li>${label}: ${String(n)}</li>`)}</ul>`;
}

function deepCheckPage(op: SlowOperation, status: WebNodeStatus, handlePath: string): string {
  const t = op.tally!;
  const reload = reloadParts(op, handlePath);
  const problems = t.problems.map(
    (p) =>
      html`<li>${p.path.length === 0 ? "<root>" : p.path.join("/")}: ${p.results.summary} [SI: ${p.results.storageIndex}]${
        p.post === undefined ? "" : html` — after repair: ${p.post.healthy ? "healthy" : p.post.summary}`
      }</li>`,
  );
  const corrupt = t.corrupt.map(
    (c) =>
      html`<tr><td><code>${c.serverId}</code></td><td><code>${c.storageIndex}</code></td><td>${String(c.shareNumber)}</td></tr>`,
  );
  const title = t.repair ? "Deep-Check-And-Repair Results" : "Deep-Check Results";
  return page(
    `${title} - Tahoe-LAFS`,
    html`<h1>${title} for root SI=${op.origin === "" ? "<none>" : op.origin}</h1>${reload.body}
${countRows(t)}
${problems.length === 0 ? "" : html`<h2>Files/Directories That Had Problems:</h2><ul>${problems}</ul>`}
${corrupt.length === 0 ? "" : html`<h2>Corrupt Shares</h2><table><thead><tr><th>Server</th><th>Storage index</th><th>Share</th></tr></thead><tbody>${corrupt}</tbody></table>`}
${t.truncated ? html`<p>Only the first problems are listed.</p>` : ""}`,
    status,
    reload.head,
  );
}

/**
 * What `GET /operations/H[?output=]` shows of an operation, in Tahoe's shapes: deep-check
 * (DeepCheckResultsRenderer or its check-and-repair twin), manifest (ManifestResults: HTML, text,
 * JSON), deep-size (DeepSizeResults: "finished:/size:" text, or JSON) and deep-stats (JSON only).
 */
export function renderOperation(
  op: SlowOperation,
  outputArg: string | undefined,
  status: WebNodeStatus,
  handlePath: string,
): RenderedOperation {
  const output = outputOf(outputArg);
  switch (op.kind) {
    case "deep-stats":
      return { type: TEXT, body: pythonJson({ ...op.stats.results(), finished: op.finished }) };
    case "deep-size": {
      if (output === "json")
        return { type: TEXT, body: pythonJsonFlat({ finished: op.finished, size: op.stats.results() }) };
      const size = op.finished ? `size: ${deepSize(op)}\n` : "";
      return { type: TEXT, body: `finished: ${op.finished ? "yes" : "no"}\n${size}` };
    }
    case "manifest":
      return manifestRender(op, output, status, handlePath);
    case "deep-check":
      if (output === "json") return { type: TEXT, body: `${pythonJson(op.tally!.json(op.finished))}\n` };
      return { type: HTML, body: deepCheckPage(op, status, handlePath) };
  }
}
