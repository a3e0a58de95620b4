import { html, type SafeHtml } from "./html.js";
import { siteHeader } from "./site-header.js";
import type { WebNodeStatus } from "./web-node.js";

/** Where the node serves its one stylesheet and icon (static-routes.ts). */
export const STYLESHEET_PATH = "/static/lafs.css";
export const FAVICON_PATH = "/static/favicon.svg";

/** Sent with every response, errors and 404s included (DESIGN.md §7). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
  // Styles come only from the node's own stylesheet: no inline style, no other origin.
  "Content-Security-Policy":
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
};

/** A page with a script of its own (welcome, directories): the common CSP plus scripts and XHR to the node only. */
export const SCRIPT_PAGE_CSP = `${SECURITY_HEADERS["Content-Security-Policy"]}; script-src 'self'; connect-src 'self'`;

/**
 * A whole HTML document around `body`, in the one design every page shares. With the node's
 * status the page gets the header (name, servers, uploads, Tor); an error raised before the
 * status could be read goes without it.
 */
export function page(title: string, body: SafeHtml, status?: WebNodeStatus, extraHead?: SafeHtml): string {
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
<link rel="icon" href="${FAVICON_PATH}" type="image/svg+xml">
${extraHead}
</head>
<body>
${status === undefined ? "" : siteHeader(status)}
<main id="main">
${body}
</main>
</body>
</html>
`.toString();
}
