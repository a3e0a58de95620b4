import { createHash } from "node:crypto";
import { html, raw, type SafeHtml } from "./html.js";

const STYLE = `body{font-family:sans-serif;margin:1.5em;max-width:75em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #bbb;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#eee}.connected{color:#060}.connecting{color:#a60}.disconnected{color:#a00}
.ready{color:#060}.not-ready{color:#a00}code{background:#f4f4f4;padding:0 .2em}.hint{font-style:italic}
.error{border:2px solid #a00;padding:.5em 1em}nav ul{list-style:none;padding:0;margin:0 0 1em}nav li{display:inline;margin-right:1em}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
:focus-visible{outline:3px solid #05a;outline-offset:2px}`;

// The one inline style is allowed by its hash, so the CSP needs no 'unsafe-inline' and no other origin.
const STYLE_HASH = createHash("sha256").update(STYLE).digest("base64");

/** Sent with every response, errors and 404s included (DESIGN.md §7). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
  "Content-Security-Policy": `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
};

/** A whole HTML document around `body`. */
export function page(title: string, body: SafeHtml): string {
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
<style>${raw(STYLE)}</style>
</head>
<body>
${body}
</body>
</html>
`.toString();
}
