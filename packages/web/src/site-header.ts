import { html, type SafeHtml } from "./html.js";
import type { WebNodeStatus } from "./web-node.js";

/** The three things a user looks for first: are servers connected, can I upload, is Tor working. */
export function statusSummary(status: WebNodeStatus): SafeHtml {
  const connected = status.servers.filter((s) => s.connection.state === "connected").length;
  const servers = html`<li id="summary-servers" class="${connected > 0 ? "ready" : "not-ready"}">Servers: ${connected} of ${status.servers.length} connected</li>`;
  const uploads = status.uploads.ready
    ? html`<li id="summary-uploads" class="ready">Uploads: ready</li>`
    : html`<li id="summary-uploads" class="not-ready">Uploads: not ready (<a href="/#uploads">why</a>)</li>`;
  const tor =
    status.tor === undefined
      ? html`<li id="summary-tor">Tor: not used</li>`
      : status.tor.ready
        ? html`<li id="summary-tor" class="ready">Tor: ready</li>`
        : html`<li id="summary-tor" class="not-ready">Tor: not ready</li>`;
  return html`<ul class="summary" aria-label="Node status">${servers}${uploads}${tor}</ul>`;
}

export function siteHeader(status: WebNodeStatus): SafeHtml {
  return html`<header class="site"><div class="site-inner">
<a class="brand" href="/">Tahoe-LAFS: ${status.nickname}</a>
<nav aria-label="Site"><ul><li><a href="/">Welcome</a></li><li><a href="/status">Transfers</a></li></ul></nav>
${statusSummary(status)}
</div></header>`;
}
