import { html, type SafeHtml } from "../html.js";
import { page } from "../page.js";
import type { WebNodeStatus } from "../web-node.js";
import type { ControlFileIssue } from "./control-node.js";
import { panelWords } from "./panel-words.js";

export type PanelPage = "servers" | "encoding" | "upload" | "simulator";

// Relative links: the pages never write the secret into their markup, and work under any prefix.
const NAV: [PanelPage, string, string][] = [
  ["servers", "./", "Servers"],
  ["encoding", "encoding", "Encoding"],
  ["upload", "upload", "Upload"],
  ["simulator", "simulator", "Simulator"],
];

/** The panel's nav, for every page under the secret (the simulator page may use it too). */
export function panelNav(current: PanelPage): SafeHtml {
  const items = NAV.map(([name, href, label]) =>
    name === current
      ? html`<li><a href="${href}" aria-current="page"><strong>${label}</strong></a></li>`
      : html`<li><a href="${href}">${label}</a></li>`,
  );
  return html`<nav class="panel-nav" aria-label="Control panel"><ul>${items}</ul></nav>`;
}

/** Placement's own words when uploads cannot start; every panel page and the welcome page show it. */
export function uploadsBanner(uploads: WebNodeStatus["uploads"]): SafeHtml {
  if (uploads.ready) return html``;
  return html`<p id="uploads-banner" class="error" role="alert">${panelWords(uploads.reason ?? "uploads disabled: the node did not say why")}</p>`;
}

export function issuesList(issues: readonly ControlFileIssue[], id: string): SafeHtml {
  if (issues.length === 0) return html``;
  return html`<div id="${id}" class="error" role="alert">
<p>These hand-edited files have mistakes; what they name is ignored until fixed. Nothing is lost: saving keeps a
bad line of servers-allowed or servers-required as a comment, and a broken control-panel.json is never saved over.</p>
<ul>${issues.map((i) => html`<li><code>${i.file}</code> line ${i.line}: ${i.message}</li>`)}</ul>
</div>`;
}

export function notice(kind: "saved" | "error" | "warning", text: string | undefined): SafeHtml {
  if (text === undefined) return html``;
  const cls = kind === "saved" ? "notice-ok ready" : "error";
  return html`<p id="panel-${kind}" class="${cls}" role="${kind === "saved" ? "status" : "alert"}">${text}</p>`;
}

export function panelPage(current: PanelPage, title: string, status: WebNodeStatus, body: SafeHtml): string {
  return page(
    `${title} - control panel - ${status.nickname}`,
    html`${panelNav(current)}
<h1>${title}</h1>
${uploadsBanner(status.uploads)}
${body}
<p class="hint">This page's address is a secret: anyone who has it can change this node's settings. Run
<code>tahoe webopen --control-panel</code> again for a new one (the old one stops working).</p>`,
    status,
  );
}
