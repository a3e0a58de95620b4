import { isTahoeError, type TahoeError } from "@lafs/interface";
import { WebError } from "./errors.js";
import { html } from "./html.js";
import { page } from "./page.js";
import type { WebNodeStatus } from "./web-node.js";

/** What a client is shown about a failed request: never a stack trace. */
export interface ErrorView {
  status: number;
  code: string;
  message: string;
  hint?: string;
}

const STATUS_BY_CODE: [RegExp, number][] = [
  // A refused upload is the grid's state, not the request's fault: retry once servers connect.
  [/^TAHOE_ERR_PLACEMENT_/, 503],
  [/^TAHOE_ERR_UPLOAD_UNHAPPY$/, 503],
  [/^TAHOE_ERR_(IMMUTABLE_CAP|DOWNLOAD_CAP|MUTABLE_CAP)$/, 400],
  // A mutable file's writes: a read-only cap, an offset past the end, a body that is not the
  // size its Content-Length said, a private-key= that is no RSA-2048 key, are the request's
  // fault; a body over the size cap is 413.
  [/^TAHOE_ERR_MUTABLE_(READ_ONLY_CAP|UPDATE|ARGUMENT|KEY)$/, 400],
  [/^TAHOE_ERR_MUTABLE_TOO_LARGE$/, 413],
  // Another writer changed the file during this write (Tahoe's UncoordinatedWriteError): read it and retry.
  [/^TAHOE_ERR_MUTABLE_UNCOORDINATED_WRITE$/, 409],
  // Too few servers took the new shares: the grid's state, as for an immutable upload.
  [/^TAHOE_ERR_MUTABLE_NOT_ENOUGH_SERVERS$/, 503],
  // Tahoe-LAFS's UnrecoverableFileError: no version of the mutable file has k good shares.
  [/^TAHOE_ERR_MUTABLE_NOT_ENOUGH_SHARES$/, 410],
  // Tahoe-LAFS answers NotEnoughSharesError with 410 Gone; shares that decode to other bytes
  // than their hashes promise (a lying uploader) leave the file as unrecoverable.
  [/^TAHOE_ERR_((DOWNLOAD|IMMUTABLE)_NOT_ENOUGH_SHARES|IMMUTABLE_CRYPTTEXT_HASH)$/, 410],
  [/_ABORTED$/, 503],
  // Directories (@lafs/directory): Tahoe's 404 for a missing child, 409 for replace=false, 400 for the rest of the caller's mistakes.
  [/^TAHOE_ERR_DIRECTORY_NO_SUCH_CHILD$/, 404],
  [/^TAHOE_ERR_DIRECTORY_EXISTS$/, 409],
  [/^TAHOE_ERR_DIRECTORY_(NOT_A_DIRECTORY|READ_ONLY|BAD_NAME|NOT_DEEP_IMMUTABLE|BAD_CAP|CAP)$/, 400],
  // The body did not match its Content-Length: the client's doing.
  [/^TAHOE_ERR_NODE_UPLOAD_TRUNCATED$/, 400],
];

function statusOf(error: TahoeError): number {
  if (error instanceof WebError) return error.status;
  for (const [pattern, status] of STATUS_BY_CODE) if (pattern.test(error.code)) return status;
  return 500;
}

/** Fastify's own errors (bad header, body parse) carry a 4xx statusCode and say nothing secret. */
function isClientError(error: unknown): error is Error & { statusCode: number; code?: string } {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return error instanceof Error && typeof status === "number" && status >= 400 && status < 500;
}

const API_HINT = "See Tahoe-LAFS's docs/frontends/webapi.rst for the requests the web API accepts.";
const FORM_HINT = "Send one multipart/form-data form with a 'file' field (the welcome page's upload form).";

/** Fastify's and @fastify/multipart's errors, by their FST_ code, in our words. */
const FRAMEWORK_ERRORS: Record<string, Omit<ErrorView, "status"> & { status?: number }> = {
  FST_ERR_BAD_URL: {
    code: "TAHOE_ERR_WEB_BAD_REQUEST",
    message: "the URL's path is not valid percent-encoded UTF-8",
    hint: "Percent-encode the cap (encodeURIComponent) before putting it in the path.",
  },
  FST_ERR_MAX_PARAM_LENGTH: {
    code: "TAHOE_ERR_WEB_URL_TOO_LONG",
    message: "a segment of the URL's path is longer than 4096 characters (no cap is that long)",
    hint: "Check the cap in the URL: it is cut or has something appended.",
  },
  FST_FILES_LIMIT: {
    status: 400,
    code: "TAHOE_ERR_WEB_BAD_FORM",
    message:
      "the form has more file parts than the upload reads (one 'file' field, at most 4 file parts in all)",
    hint: FORM_HINT,
  },
  FST_FIELDS_LIMIT: {
    status: 400,
    code: "TAHOE_ERR_WEB_BAD_FORM",
    message: "the form has more than 50 fields",
    hint: FORM_HINT,
  },
  FST_PARTS_LIMIT: {
    status: 400,
    code: "TAHOE_ERR_WEB_BAD_FORM",
    message: "the form has more than 100 parts",
    hint: FORM_HINT,
  },
  FST_PROTO_VIOLATION: {
    status: 400,
    code: "TAHOE_ERR_WEB_BAD_FORM",
    message: "a form field is named __proto__ or constructor",
    hint: FORM_HINT,
  },
  FST_INVALID_MULTIPART_CONTENT_TYPE: {
    status: 400,
    code: "TAHOE_ERR_WEB_BAD_FORM",
    message: "the request is not multipart/form-data",
    hint: FORM_HINT,
  },
};

function frameworkView(error: Error & { statusCode: number; code?: string }): ErrorView {
  const known = error.code === undefined ? undefined : FRAMEWORK_ERRORS[error.code];
  if (known !== undefined) return { ...known, status: known.status ?? error.statusCode };
  const status = error.statusCode;
  if (status === 413) {
    return {
      status,
      code: "TAHOE_ERR_WEB_TOO_LARGE",
      message: "the request body is larger than this node accepts",
      hint: "Upload a smaller file, or raise the node's upload limit.",
    };
  }
  if (status === 414) {
    return { status, code: "TAHOE_ERR_WEB_URL_TOO_LONG", message: "the URL is too long", hint: API_HINT };
  }
  if (status === 431) {
    return {
      status,
      code: "TAHOE_ERR_WEB_HEADERS_TOO_LARGE",
      message: "the request's headers are too large",
      hint: API_HINT,
    };
  }
  // Any other framework refusal: its message is plain English and names no secret; never its FST_ code.
  return {
    status,
    code: "TAHOE_ERR_WEB_BAD_REQUEST",
    message: `the request was refused: ${error.message}`,
    hint: API_HINT,
  };
}

export function errorView(error: unknown): ErrorView {
  if (isTahoeError(error)) {
    const view: ErrorView = { status: statusOf(error), code: error.code, message: error.message };
    if (error.hint !== undefined) view.hint = error.hint;
    return view;
  }
  if (isClientError(error)) return frameworkView(error);
  return {
    status: 500,
    code: "internal error",
    message: "internal error: the node's log has the details",
    hint: "This is a bug in lafs-ts; please report it with the node's log.",
  };
}

export type ErrorFormat = "html" | "text" | "json";

/** Browsers get a page; API clients (curl, `tahoe put`) that do not ask for HTML get plain text. */
export function errorFormatFor(accept: string | undefined, wantsJson: boolean): ErrorFormat {
  if (wantsJson) return "json";
  return accept?.includes("text/html") ? "html" : "text";
}

export function renderError(
  view: ErrorView,
  format: ErrorFormat,
  status?: WebNodeStatus,
): { contentType: string; body: string } {
  if (format === "json") {
    const body: Record<string, unknown> = { error: { code: view.code, message: view.message } };
    if (view.hint !== undefined) (body.error as Record<string, unknown>).hint = view.hint;
    return { contentType: "application/json; charset=utf-8", body: JSON.stringify(body) };
  }
  if (format === "text") {
    const lines = [`Error ${view.status}: ${view.code}`, view.message];
    if (view.hint !== undefined) lines.push(view.hint);
    return { contentType: "text/plain; charset=utf-8", body: `${lines.join("\n")}\n` };
  }
  const body = html`<h1>Error ${view.status}</h1>
<div class="error">
<p><code>${view.code}</code></p>
<p>${view.message}</p>
${view.hint === undefined ? "" : html`<p class="hint">${view.hint}</p>`}
</div>
<p><a href="/">Return to the welcome page</a></p>`;
  return {
    contentType: "text/html; charset=utf-8",
    body: page(`Error ${view.status} - Tahoe-LAFS`, body, status),
  };
}
