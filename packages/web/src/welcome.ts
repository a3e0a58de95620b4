import { html, type SafeHtml } from "./html.js";
import { page } from "./page.js";
import {
  advisoriesJson,
  advisoryTable,
  leaseCrawlerJson,
  leaseCrawlerSection,
} from "./storage-upkeep-view.js";
import type { WebAlias, WebNodeStatus, WebServerInfo, WebStorageReport, WebTorStatus } from "./web-node.js";

/** "5 minutes ago", as Tahoe-LAFS's welcome page writes times. */
export function ago(then: number | undefined, now: number): string {
  if (then === undefined) return "never";
  const s = Math.max(0, Math.round((now - then) / 1000));
  const units: [number, string][] = [
    [86_400, "day"],
    [3600, "hour"],
    [60, "minute"],
    [1, "second"],
  ];
  for (const [size, unit] of units) {
    if (s >= size) {
      const n = Math.floor(s / size);
      return `${n} ${unit}${n === 1 ? "" : "s"} ago`;
    }
  }
  return "just now";
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "7 Dec 2026, 05:08:59 UTC": a time a person reads at a glance, the same on every machine. */
export function humanTime(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}, ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} UTC`;
}

/** Bytes the way Tahoe-LAFS shows space: decimal units. */
export function abbreviateSpace(bytes: number | undefined): string {
  if (bytes === undefined) return "N/A";
  const units = ["B", "kB", "MB", "GB", "TB", "PB"];
  let value = bytes;
  let i = 0;
  while (value >= 1000 && i < units.length - 1) {
    value /= 1000;
    i++;
  }
  return i === 0 ? `${bytes} B` : `${value.toFixed(2)} ${units[i]}`;
}

/** Tahoe-LAFS's one-line connection status ("Connected to tcp:h:p via tcp"). */
export function connectionSummary(server: WebServerInfo): string {
  const c = server.connection;
  if (c.state === "connected") {
    const to = c.hint ? ` to ${c.hint}` : "";
    const via = c.handler ? ` via ${c.handler}` : "";
    return `Connected${to}${via}`;
  }
  if (c.state === "connecting") return "Trying to connect";
  const last = c.errors?.at(-1);
  return last ? `Disconnected: ${last.hint}: ${last.message}` : "Disconnected";
}

const seconds = (ms: number | undefined): number | null => (ms === undefined ? null : ms / 1000);

/** `/?t=json`: the page's data, with Tahoe-LAFS's keys where Tahoe has them (times in seconds). */
export function welcomeJson(status: WebNodeStatus, now: number): unknown {
  return {
    node: {
      nickname: status.nickname,
      node_id: status.nodeId,
      version: status.version,
      started: seconds(status.startedAt),
      uptime: Math.max(0, (now - status.startedAt) / 1000),
    },
    introducers: {
      statuses: status.introducers.map((i) => `${i.petname}: ${i.state}`),
      list: status.introducers.map((i) => ({ petname: i.petname, state: i.state, since: seconds(i.since) })),
    },
    servers: status.servers.map((s) => ({
      nodeid: s.id,
      nickname: s.nickname,
      connection_status: connectionSummary(s),
      connection: {
        state: s.connection.state,
        hint: s.connection.hint ?? null,
        handler: s.connection.handler ?? null,
        since: seconds(s.connection.since),
        errors: s.connection.errors ?? [],
      },
      last_received_data: seconds(s.lastReceived),
      version: s.version ?? null,
      available_space: s.availableSpace ?? null,
      learned_from: s.learnedFrom,
    })),
    storage: {
      enabled: status.storage.enabled,
      available_space: status.storage.availableSpace ?? null,
      ...(status.storage.report === undefined ? {} : storageReportJson(status.storage.report)),
    },
    uploads: { ready: status.uploads.ready, reason: status.uploads.reason ?? null },
    encoding: status.encoding,
    ...(status.tor === undefined ? {} : { tor: torJson(status.tor) }),
  };
}

/** `/?t=json`'s tor section: null where the node cannot know (no control port). */
function torJson(tor: WebTorStatus) {
  return {
    ready: tor.ready,
    via: tor.via,
    control_port: tor.controlPort ?? null,
    bootstrapped: tor.bootstrap === undefined ? null : tor.bootstrap.progress >= 100,
    bootstrap_progress: tor.bootstrap?.progress ?? null,
    bootstrap_summary: tor.bootstrap?.summary ?? null,
    bootstrap_warning: tor.bootstrap?.warning ?? null,
    network_disabled: tor.networkDisabled ?? null,
    socks: {
      endpoint: tor.socks.endpoint ?? null,
      reachable: tor.socks.reachable,
      error: tor.socks.error ?? null,
    },
    onion:
      tor.onion === undefined
        ? null
        : {
            address: tor.onion.address,
            descriptor_uploaded: tor.onion.descriptorUploaded,
            last_failure: tor.onion.lastFailure ?? null,
          },
    problem: tor.problem ?? null,
    hint: tor.hint ?? null,
    checked: tor.checkedAt / 1000,
  };
}

/** The welcome page's Tor lines: what a user of a hide-ip or onion node looks for first when nothing connects. */
function torSection(tor: WebTorStatus | undefined, now: number): SafeHtml | string {
  if (tor === undefined) return "";
  const bootstrap =
    tor.bootstrap === undefined
      ? "unknown (no control port to ask)"
      : `${tor.bootstrap.progress}% (${tor.bootstrap.summary})${tor.bootstrap.warning ? `; last warning: ${tor.bootstrap.warning}` : ""}`;
  const socks = tor.socks.reachable
    ? `${tor.socks.endpoint} answers`
    : `not reachable${tor.socks.endpoint ? ` at ${tor.socks.endpoint}` : ""}${tor.socks.error ? `: ${tor.socks.error}` : ""}`;
  const state = tor.ready
    ? html`<p id="tor-state" class="ready">Tor is ready.</p>`
    : html`<p id="tor-state" class="not-ready" role="alert">Tor is not ready: ${tor.problem ?? "no reason known"}${tor.hint ? html`<br>${tor.hint}` : ""}</p>`;
  return html`<h2>Tor</h2>
${state}
<table id="tor" class="kv">
<tr><th>Asked through</th><td>${tor.via === "control-port" ? `control port ${tor.controlPort ?? ""}` : "a SOCKS greeting"} (${ago(tor.checkedAt, now)})</td></tr>
<tr><th>Bootstrapped</th><td>${bootstrap}</td></tr>
<tr><th>SOCKS port</th><td>${socks}</td></tr>
${tor.onion === undefined ? "" : html`<tr><th>Onion service</th><td><code>${tor.onion.address}</code>: descriptor ${tor.onion.descriptorUploaded ? "uploaded" : `not uploaded${tor.onion.lastFailure ? ` (last failure: ${tor.onion.lastFailure})` : ""}`}</td></tr>`}
</table>`;
}

/** The storage server's damage report in `/?t=json` (times in seconds, as the rest). */
function storageReportJson(report: WebStorageReport) {
  return {
    corrupt_shares: {
      count: report.corruptShares.count,
      list: report.corruptShares.records.map((r) => ({
        path: r.path,
        storage_index: r.storageIndex,
        share_number: r.shareNumber,
        kind: r.kind,
        problem: r.problem,
        first_seen: r.firstSeen / 1000,
      })),
    },
    corruption_advisories: {
      count: report.corruptionAdvisories.count,
      bytes: report.corruptionAdvisories.bytes,
      refused: report.corruptionAdvisories.refused,
      ...(report.corruptionAdvisories.recent === undefined
        ? {}
        : { recent: advisoriesJson(report.corruptionAdvisories.recent) }),
    },
    ...(report.leaseCrawler === undefined ? {} : { lease_checker: leaseCrawlerJson(report.leaseCrawler) }),
  };
}

/** Shown only when there is something to see: a clean server adds one quiet line. */
function storageReportSection(report: WebStorageReport | undefined, now: number): SafeHtml | string {
  if (report === undefined) return "";
  const advisories = report.corruptionAdvisories;
  const advisoryLine = html`<p id="corruption-advisories">Corruption advisories received: ${advisories.count} (${abbreviateSpace(advisories.bytes)})${advisories.refused > 0 ? html`, ${advisories.refused} refused over the limit` : ""}; they are kept in <code>storage/corruption-advisories</code>.</p>
${advisoryTable(advisories.recent ?? [], now, ago)}
${report.leaseCrawler === undefined ? "" : leaseCrawlerSection(report.leaseCrawler, now, ago, abbreviateSpace)}`;
  const damaged = report.corruptShares;
  if (damaged.count === 0)
    return html`<h2>Stored shares</h2>
<p id="corrupt-shares">No damaged share files found.</p>
${advisoryLine}`;
  const unlisted = damaged.count - damaged.records.length;
  return html`<h2>Stored shares</h2>
<p id="corrupt-shares" class="not-ready" role="alert">${damaged.count} damaged share file${damaged.count === 1 ? "" : "s"} found. They are left in place: move them out of <code>storage/shares</code>; clients repair from other servers.</p>
<table class="reflow"><thead><tr><th scope="col">Share file</th><th scope="col">Storage index</th><th scope="col">Share</th><th scope="col">Kind</th><th scope="col">Problem</th><th scope="col">First seen</th></tr></thead>
${damaged.records.map((r) => html`<tr><td data-label="Share file"><code>${r.path}</code></td><td data-label="Storage index"><code>${r.storageIndex}</code></td><td data-label="Share">${r.shareNumber}</td><td data-label="Kind">${r.kind}</td><td data-label="Problem">${r.problem}</td><td data-label="First seen">${ago(r.firstSeen, now)}</td></tr>`)}
</table>
${unlisted > 0 ? html`<p>${unlisted} more not listed.</p>` : ""}
${advisoryLine}`;
}

function serverRow(s: WebServerInfo, now: number): SafeHtml {
  const c = s.connection;
  // One failed hint is already in the summary; a list only helps when several hints failed.
  const errors =
    (c.errors?.length ?? 0) > 1
      ? html`<ul>${(c.errors ?? []).map((e) => html`<li><code>${e.hint}</code>: ${e.message}</li>`)}</ul>`
      : "";
  return html`<tr>
<td data-label="Server">${s.nickname}<br><code>${s.id}</code></td>
<td data-label="Connection" class="${c.state}">${connectionSummary(s)}${errors}</td>
<td data-label="Since">${c.since === undefined ? "" : ago(c.since, now)}</td>
<td data-label="Last RX">${ago(s.lastReceived, now)}</td>
<td data-label="Version">${s.version ?? "N/A"}</td>
<td data-label="Available space">${abbreviateSpace(s.availableSpace)}</td>
<td data-label="Learned from">${s.learnedFrom.join(", ")}</td>
</tr>`;
}

/** Where to start browsing: the node's aliases (links only; a write cap is never printed here) and any cap. */
function directoriesSection(aliases: readonly WebAlias[]): SafeHtml {
  const kind = (cap: string) =>
    /^URI:DIR2(-MDMF)?:/.test(cap)
      ? "writable directory"
      : /^URI:DIR2/.test(cap)
        ? "read-only directory"
        : "not a directory cap";
  const list =
    aliases.length === 0
      ? html`<p id="no-aliases">This node has no aliases yet: <code>tahoe create-alias NAME</code> on the node's machine makes one.</p>`
      : html`<ul id="aliases" class="aliases">${aliases.map((a) =>
          /^URI:DIR2/.test(a.cap)
            ? html`<li><a href="/uri/${encodeURIComponent(a.cap)}/">${a.name}:</a> <span class="hint">${kind(a.cap)}</span></li>`
            : html`<li>${a.name}: <span class="hint">${kind(a.cap)}</span></li>`,
        )}</ul>`;
  return html`<h2 id="directories">Directories</h2>
${list}
<form id="open-cap" action="/uri" method="get">
<p><label for="open-cap-input">Open a directory or file by its cap:</label>
<input type="text" id="open-cap-input" name="uri" required autocomplete="off" spellcheck="false" placeholder="URI:DIR2:..."></p>
<p><input type="submit" value="Open"></p>
</form>`;
}

export function welcomePage(
  status: WebNodeStatus,
  now: number,
  options: { uploadForm?: boolean; aliases?: readonly WebAlias[] } = {},
): string {
  const connected = status.servers.filter((s) => s.connection.state === "connected").length;
  const upload = status.uploads.ready
    ? html`<p class="ready">Uploads can start now (${status.encoding.k}-of-${status.encoding.n}, happy = ${status.encoding.happy}).</p>`
    : html`<p id="uploads-banner" class="not-ready" role="alert">Uploads cannot start now: ${status.uploads.reason ?? "the node did not say why"}</p>`;
  const uploadForm =
    options.uploadForm === false
      ? html`<h2>Upload a file</h2>
<p id="uploads-private">This node takes no uploads from its welcome page (<code>[node]web.upload-authority = private</code>):
upload with <code>tahoe put</code> on the node's machine, or through the control panel.</p>`
      : html`<h2>Upload a file</h2>
<form id="welcome-upload" action="/uri?t=upload&amp;redirect_to_result=true" method="post" enctype="multipart/form-data">
<p><label for="upload-file">File:</label> <input type="file" id="upload-file" name="file" required></p>
<p><input type="submit" value="Upload"></p>
<progress id="upload-progress" hidden aria-label="Upload progress"></progress>
<p id="upload-status" role="status"></p>
</form>
<p class="hint">After the upload you get the file's cap: keep it, it is the only way back to the file.</p>`;
  const body = html`<h1>Tahoe-LAFS node: ${status.nickname}</h1>
<table class="kv">
<tr><th>Nickname</th><td>${status.nickname}</td></tr>
<tr><th>Node ID</th><td><code>${status.nodeId}</code></td></tr>
<tr><th>Version</th><td>${status.version}</td></tr>
<tr><th>Started</th><td><time datetime="${new Date(status.startedAt).toISOString()}">${humanTime(status.startedAt)}</time> (${ago(status.startedAt, now)})</td></tr>
<tr><th>Storage</th><td>${status.storage.enabled ? html`enabled, ${abbreviateSpace(status.storage.availableSpace)} available` : "disabled"}</td></tr>
<tr><th>Encoding</th><td>shares.needed = ${status.encoding.k}, shares.happy = ${status.encoding.happy}, shares.total = ${status.encoding.n}</td></tr>
</table>
${storageReportSection(status.storage.report, now)}
<h2 id="uploads">Uploads</h2>
${upload}
${torSection(status.tor, now)}
<h2>Introducers (${status.introducers.length})</h2>
${
  status.introducers.length === 0
    ? html`<p>No introducers are configured.</p>`
    : html`<table class="reflow"><thead><tr><th scope="col">Introducer</th><th scope="col">Status</th><th scope="col">Since</th></tr></thead>
${status.introducers.map((i) => html`<tr><td data-label="Introducer">${i.petname}</td><td data-label="Status">${i.state}</td><td data-label="Since">${i.since === undefined ? "" : ago(i.since, now)}</td></tr>`)}
</table>`
}
<h2>Connected to ${connected} of ${status.servers.length} known storage servers</h2>
${
  status.servers.length === 0
    ? html`<p>No storage servers are known yet.</p>`
    : html`<table id="servers" class="reflow"><thead><tr><th scope="col">Server</th><th scope="col">Connection</th><th scope="col">Since</th><th scope="col">Last RX</th><th scope="col">Version</th><th scope="col">Available space</th><th scope="col">Learned from</th></tr></thead>
${status.servers.map((s) => serverRow(s, now))}
</table>`
}
${directoriesSection(options.aliases ?? [])}
${uploadForm}
<h2>Download a file</h2>
<form id="welcome-download" action="/uri" method="get">
<p><label for="download-cap">Cap:</label> <input type="text" id="download-cap" name="uri" required autocomplete="off" spellcheck="false"></p>
<p><label for="download-name">Save as:</label> <input type="text" id="download-name" name="filename" placeholder="file name, e.g. report.pdf"></p>
<input type="hidden" name="save" value="true"><p><input type="submit" value="Download"></p>
</form>
<p id="control-panel-hint">Which servers may hold your shares, and the encoding, are set in the control panel, not
here: run <code>tahoe webopen --control-panel</code> on the node's machine.</p>
<p><a href="/status">Transfers</a> - <a href="/?t=json">This page as JSON</a></p>`;
  const script =
    options.uploadForm === false ? undefined : html`<script src="/static/upload-progress.js" defer></script>`;
  return page(`Tahoe-LAFS - ${status.nickname}`, body, status, script);
}
