import { html, type SafeHtml } from "./html.js";
import { page } from "./page.js";
import type { WebTransfer } from "./transfer-log.js";
import type { WebNodeStatus } from "./web-node.js";
import { abbreviateSpace, ago, humanTime } from "./welcome.js";

const fraction = (t: WebTransfer): number | null =>
  t.totalBytes === undefined ? null : t.totalBytes === 0 ? 1 : Math.min(1, t.doneBytes / t.totalBytes);

/** Bytes per second over the transfer's life so far (or its whole life once finished). */
function speed(t: WebTransfer, now: number): number | null {
  const seconds = ((t.finishedAt ?? now) - t.startedAt) / 1000;
  return seconds > 0 ? t.doneBytes / seconds : null;
}

/** Tahoe-LAFS's status words: "uploading", "downloading", "done", and the failure. */
function statusWord(t: WebTransfer): string {
  if (t.state === "active") return t.kind === "upload" ? "uploading" : "downloading";
  if (t.state === "done") return "done";
  return `${t.state}: ${t.error ?? "no reason known"}`;
}

/**
 * `/status?t=json` in Tahoe-LAFS 1.20's shape (web/status.py marshal_json): `active` and `recent`
 * lists of items with storage-index-string, total-size, status and type, plus the progress keys
 * Tahoe gives each type. This node's extra keys (name, bytes, times, speed, cap, error) follow.
 */
export function transfersJson(transfers: readonly WebTransfer[], now: number): unknown {
  const item = (t: WebTransfer) => {
    const p = fraction(t) ?? 0;
    const progress =
      t.kind === "upload"
        ? { "progress-hash": p, "progress-ciphertext": p, "progress-encode-push": t.state === "done" ? 1 : 0 }
        : { progress: p };
    return {
      "storage-index-string": null,
      "total-size": t.totalBytes ?? null,
      status: statusWord(t),
      type: t.kind,
      ...progress,
      name: t.name,
      "bytes-done": t.doneBytes,
      started: t.startedAt / 1000,
      finished: t.finishedAt === undefined ? null : t.finishedAt / 1000,
      "bytes-per-second": speed(t, now),
      cap: t.cap ?? null,
      error: t.error ?? null,
    };
  };
  return {
    active: transfers.filter((t) => t.state === "active").map(item),
    recent: transfers.filter((t) => t.state !== "active").map(item),
  };
}

function rate(bytesPerSecond: number | null): string {
  return bytesPerSecond === null ? "" : `${abbreviateSpace(Math.round(bytesPerSecond))}/s`;
}

function row(t: WebTransfer, now: number): SafeHtml {
  const p = fraction(t);
  const percent = p === null ? "" : `${Math.floor(p * 100)}%`;
  const bar =
    t.state === "active"
      ? html`<progress max="100"${p === null ? "" : html` value="${Math.floor(p * 100)}"`} aria-label="${t.name} progress">${percent}</progress> ${percent}`
      : percent;
  const result =
    t.state === "done"
      ? t.cap === undefined
        ? html`<span class="ready">done</span>`
        : html`<span class="ready">done</span>: <a href="/uri/${encodeURIComponent(t.cap)}?t=info">file info</a>`
      : t.state === "active"
        ? "running"
        : html`<span class="not-ready">${statusWord(t)}</span>`;
  return html`<tr>
<td data-label="Type">${t.kind}</td>
<td data-label="Name">${t.name}</td>
<td data-label="Size">${t.totalBytes === undefined ? "not known yet" : abbreviateSpace(t.totalBytes)}</td>
<td data-label="Progress">${bar} (${abbreviateSpace(t.doneBytes)})</td>
<td data-label="Speed">${rate(speed(t, now))}</td>
<td data-label="Servers used">${t.servers === undefined ? html`<span class="hint">${t.state === "active" ? "not yet known" : "none named"}</span>` : t.servers.join(", ")}</td>
<td data-label="Started"><time datetime="${new Date(t.startedAt).toISOString()}">${humanTime(t.startedAt)}</time> (${ago(t.startedAt, now)})</td>
<td data-label="Result">${result}</td>
</tr>`;
}

function table(id: string, transfers: readonly WebTransfer[], now: number, empty: string): SafeHtml {
  if (transfers.length === 0) return html`<p id="${id}-none">${empty}</p>`;
  return html`<table id="${id}" class="reflow">
<thead><tr><th scope="col">Type</th><th scope="col">Name</th><th scope="col">Size</th><th scope="col">Progress</th><th scope="col">Speed</th><th scope="col">Servers used</th><th scope="col">Started</th><th scope="col">Result</th></tr></thead>
<tbody>${transfers.map((t) => row(t, now))}</tbody>
</table>`;
}

/** `/status`: what the node is uploading and downloading now, and what it did recently. */
export function statusPage(status: WebNodeStatus, transfers: readonly WebTransfer[], now: number): string {
  const active = transfers.filter((t) => t.state === "active");
  const recent = transfers.filter((t) => t.state !== "active");
  const body = html`<h1>Transfers</h1>
<p>Uploads and downloads through this node's web front. An upload's progress is the bytes the node has
received; it is done once its shares are on the servers. While a transfer runs, this page reloads every 2 seconds.</p>
<h2>Active (${active.length})</h2>
${table("active-transfers", active, now, "Nothing is being uploaded or downloaded now.")}
<h2>Recent (${recent.length})</h2>
${table("recent-transfers", recent, now, "No transfers have finished since the node started.")}
<p><a href="/status?t=json">This page as JSON</a></p>`;
  // While something runs the page reloads itself every 2 s: live progress without any script.
  const refresh = active.length > 0 ? html`<meta http-equiv="refresh" content="2">` : undefined;
  return page(`Transfers - ${status.nickname}`, body, status, refresh);
}
