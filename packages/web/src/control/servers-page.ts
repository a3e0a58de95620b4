import { html, type SafeHtml } from "../html.js";
import type { WebNodeStatus } from "../web-node.js";
import { connectionSummary } from "../welcome.js";
import type { ControlServerInfo, ControlServers } from "./control-node.js";
import { issuesList, notice, panelPage } from "./panel-layout.js";

const SOURCE_WORDS = {
  default: "the default (allowed unless servers-allowed exists)",
  "tahoe.cfg": "[client]new-servers in tahoe.cfg",
  "control panel": "this page",
} as const;

function where(s: ControlServerInfo): string {
  if (s.listedOnly) return "listed in servers-allowed / servers-required only";
  return s.learnedFrom.join(", ");
}

function serverRow(s: ControlServerInfo, index: number): SafeHtml {
  const state = s.connection.state;
  return html`<tr>
<td data-label="Server">${s.nickname}<br><code>${s.id}</code><input type="hidden" name="shown" value="${s.id}"></td>
<td data-label="Connection" class="${state} connection">${connectionSummary(s)}${s.full ? " (read-only or full)" : ""}</td>
<td data-label="Learned from">${where(s)}</td>
<td class="tick"><input type="checkbox" id="allowed-${index}" name="allowed" value="${s.id}"${s.allowed ? html` checked` : ""}>
<label for="allowed-${index}">allowed${s.decided ? "" : " (default)"}<span class="visually-hidden"> ${s.nickname}</span></label></td>
<td class="tick"><input type="checkbox" id="required-${index}" name="required" value="${s.id}"${s.required ? html` checked` : ""}>
<label for="required-${index}">required<span class="visually-hidden"> ${s.nickname}</span></label></td>
</tr>`;
}

export function serversPage(
  status: WebNodeStatus,
  servers: ControlServers,
  messages: { saved?: string; error?: string } = {},
): string {
  const rows = servers.servers.map(serverRow);
  const option = (value: string, label: string, selected: boolean) =>
    html`<option value="${value}"${selected ? html` selected` : ""}>${label}</option>`;
  const body = html`${notice("saved", messages.saved)}${notice("error", messages.error)}
${issuesList(servers.issues, "file-issues")}
<p>"allowed": uploads may put shares on the server. "required": uploads are refused unless the server is
connected, and it must get a share. Saving rewrites <code>servers-allowed</code> and <code>servers-required</code>
in the node directory.</p>
<form id="servers-form" method="post" action="servers">
<table id="servers-table" class="reflow">
<thead><tr><th scope="col">Server</th><th scope="col">Connection</th><th scope="col">Learned from</th><th scope="col">Allowed</th><th scope="col">Required</th></tr></thead>
<tbody>
${rows.length > 0 ? rows : html`<tr><td colspan="5">No storage servers are known yet.</td></tr>`}
</tbody>
</table>
<p><label for="new-servers">Servers not yet decided (new servers):</label>
<select id="new-servers" name="new-servers">
${option("allowed", "allowed", servers.newServersAllowed)}
${option("not-allowed", "not allowed", !servers.newServersAllowed)}
</select>
<span class="hint">now set by ${SOURCE_WORDS[servers.newServersAllowedSource]}</span></p>
<p><input type="submit" id="save-servers" value="Save"></p>
</form>`;
  return panelPage("servers", "Storage servers", status, body);
}
