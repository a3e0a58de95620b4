import { html, type SafeHtml } from "./html.js";
import { page } from "./page.js";
import type { WebNodeStatus } from "./web-node.js";
import { abbreviateSpace } from "./welcome.js";

/** Where a file downloads with its name: /named/CAP/NAME keeps it even when the browser ignores headers. */
export function downloadHref(cap: string, filename: string | undefined, save: boolean): string {
  const base =
    filename === undefined || filename === ""
      ? `/uri/${encodeURIComponent(cap)}`
      : `/named/${encodeURIComponent(cap)}/${encodeURIComponent(filename)}`;
  return save ? `${base}?save=true` : base;
}

/**
 * `GET /uri/CAP?t=info`: what Tahoe-LAFS calls the file's "More Info" page, computed from the cap
 * alone. It is also where an upload from the welcome page lands (POST, then 303 here), so a reload
 * shows the result again instead of uploading the file a second time.
 */
export function fileInfoPage(
  status: WebNodeStatus,
  capText: string,
  /** The file's `?t=json` data (fileNodeJson or mutableFileNodeJson's second element). */
  info: Record<string, unknown>,
  options: { filename?: string | undefined; uploaded?: boolean } = {},
): string {
  const size = typeof info.size === "number" ? info.size : undefined;
  const name = options.filename === "" ? undefined : options.filename;
  // A verify cap's JSON has no read cap: it can check the file but not read it.
  const readable = typeof info.ro_uri === "string";
  const downloads: SafeHtml = readable
    ? html`<p><a id="download-save" href="${downloadHref(capText, name, true)}">Download${name === undefined ? "" : html` ${name}`}</a>
- <a id="download-open" href="${downloadHref(capText, name, false)}">Open in the browser</a></p>`
    : html`<p>This is a verify cap: it can check the file but not read it.</p>`;
  const heading = options.uploaded ? "File uploaded" : "File";
  const body = html`<h1>${heading}${name === undefined ? "" : html`: ${name}`}</h1>
${options.uploaded ? html`<div id="upload-result" class="result" role="status"><p>Your file is stored. Its cap is below: keep it, anyone who has it can read the file, and without it the file cannot be found again.</p></div>` : ""}
<table class="kv">
<tr><th scope="row">Cap</th><td><code id="file-cap">${capText}</code></td></tr>
${size === undefined ? "" : html`<tr><th scope="row">Size</th><td>${abbreviateSpace(size)} (${size} bytes)</td></tr>`}
<tr><th scope="row">Format</th><td>${String(info.format)}, ${info.mutable === true ? "mutable" : "immutable"}</td></tr>
${typeof info.verify_uri === "string" && info.verify_uri !== capText ? html`<tr><th scope="row">Verify cap</th><td><code>${info.verify_uri}</code></td></tr>` : ""}
</table>
${downloads}
<p><a href="/uri/${encodeURIComponent(capText)}?t=json">This file as JSON</a> - <a href="/">Upload another file</a></p>`;
  return page(`${heading} - Tahoe-LAFS`, body, status);
}
