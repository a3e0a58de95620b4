export { createWebApp, type WebAppOptions } from "./app.js";
export type {
  ControlEncoding,
  ControlFileIssue,
  ControlServerInfo,
  ControlServers,
  SettingSource,
  WebControl,
} from "./control/control-node.js";
export { createSecretGate, type SecretGateOptions } from "./control/secret-gate.js";
export type { SimulatorData, SimulatorServerData } from "./control/simulator-data.js";
export { WebError, type WebErrorCode } from "./errors.js";
export { escapeHtml, html, raw, type SafeHtml } from "./html.js";
export { SECURITY_HEADERS } from "./page.js";
export { createWebServer, type WebServer, type WebServerOptions } from "./server.js";
export {
  type ActivitySink,
  createTransferLog,
  RECENT_TRANSFERS,
  type TransferHandle,
  type TransferLog,
  type WebTransfer,
} from "./transfer-log.js";
export { secretEquals, type UploadAuthority } from "./upload-authority.js";
export type {
  WebAlias,
  WebCheckAndRepairResults,
  WebCheckOptions,
  WebCheckResults,
  WebCorruptShare,
  WebDirectories,
  WebDirectory,
  WebDirectoryChild,
  WebDirectoryEntry,
  WebDownload,
  WebDownloadOptions,
  WebMutableFile,
  WebMutableFormat,
  WebNode,
  WebNodeStatus,
  WebReplace,
  WebServerInfo,
  WebStorageReport,
  WebTorStatus,
  WebUploadOptions,
} from "./web-node.js";
