export { createWebApp, type WebAppOptions } from "./app.js";
export { WebError, type WebErrorCode } from "./errors.js";
export { escapeHtml, html, raw, type SafeHtml } from "./html.js";
export { SECURITY_HEADERS } from "./page.js";
export { createWebServer, type WebServer, type WebServerOptions } from "./server.js";
export type { WebDownload, WebNode, WebNodeStatus, WebServerInfo } from "./web-node.js";
