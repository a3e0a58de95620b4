import { downloadHref } from "../file-info-page.js";
import { html } from "../html.js";
import type { WebNodeStatus } from "../web-node.js";
import { panelPage } from "./panel-layout.js";

export function uploadPage(status: WebNodeStatus, cap?: string, filename?: string): string {
  const result =
    cap === undefined
      ? html``
      : html`<div id="upload-result" class="result" role="status"><p>File uploaded${filename ? html` (${filename})` : ""}. Its cap (keep it: anyone who has it can read the file):</p>
<p><code id="upload-cap">${cap}</code></p><p><a href="${downloadHref(cap, filename, true)}">Download it</a> - <a href="/uri/${encodeURIComponent(cap)}?t=info${filename ? `&filename=${encodeURIComponent(filename)}` : ""}">File info</a></p></div>`;
  const body = html`${result}
<p>Uploads from this form work even when the welcome page takes none (<code>web.upload-authority = private</code>).</p>
<form id="upload-form" method="post" action="upload" enctype="multipart/form-data">
<p><label for="upload-file">File:</label> <input type="file" id="upload-file" name="file" required></p>
<p><input type="submit" id="upload-submit" value="Upload"></p>
</form>`;
  return panelPage("upload", "Upload a file", status, body);
}
