import { html } from "../html.js";
import type { WebNodeStatus } from "../web-node.js";
import type { ControlEncoding, ControlServers } from "./control-node.js";
import { issuesList, notice, panelPage } from "./panel-layout.js";

/** The known foot-gun: with happy equal to the allowed servers, one server down stops every upload. */
export function encodingWarning(encoding: { happy: number }, servers: ControlServers): string | undefined {
  const allowed = servers.servers.filter((s) => s.allowed).length;
  if (allowed === 0 || encoding.happy !== allowed) return undefined;
  return (
    `shares.happy (${encoding.happy}) equals the number of allowed servers (${allowed}): ` +
    "if any one of them is down or full, uploads fail. Allow more servers or lower happy."
  );
}

export function encodingPage(
  status: WebNodeStatus,
  encoding: ControlEncoding,
  servers: ControlServers,
  messages: {
    saved?: string;
    warning?: string;
    error?: string;
    values?: { k: string; happy: string; n: string };
  } = {},
): string {
  const values = messages.values ?? {
    k: String(encoding.k),
    happy: String(encoding.happy),
    n: String(encoding.n),
  };
  const field = (name: "k" | "happy" | "n", label: string) => html`<tr>
<td><label for="enc-${name}">${label}</label></td>
<td data-label="New value"><input type="number" id="enc-${name}" name="${name}" min="1" max="256" required value="${values[name]}"></td>
<td data-label="In effect">${encoding[name]}</td><td data-label="From">${encoding.sources[name]}</td>
</tr>`;
  const body = html`${notice("saved", messages.saved)}${notice("error", messages.error)}
${notice("warning", messages.warning)}
${notice("warning", encodingWarning(encoding, servers))}
${issuesList(encoding.issues ?? [], "encoding-issues")}
<p>A file is cut into N shares, any k of which rebuild it; an upload succeeds only when shares land on at
least happy distinct servers. Rule: 1 &lt;= k &lt;= happy &lt;= N &lt;= 256. The values take effect for the next
upload and are kept in <code>control-panel.json</code>, ahead of tahoe.cfg's <code>[client]shares.*</code>.</p>
<p class="hint">Values that placement cannot use on this grid (with every known server up) are refused with
the simulator's reason, and nothing is saved. Try values in the <a href="simulator">Simulator</a> first.</p>
<form id="encoding-form" method="post" action="encoding">
<table class="reflow">
<thead><tr><th scope="col">Setting</th><th scope="col">New value</th><th scope="col">In effect</th><th scope="col">From</th></tr></thead>
<tbody>
${field("k", "shares.needed (k)")}
${field("happy", "shares.happy")}
${field("n", "shares.total (N)")}
</tbody>
</table>
<p><input type="submit" id="save-encoding" value="Save"></p>
</form>`;
  return panelPage("encoding", "Encoding parameters", status, body);
}
