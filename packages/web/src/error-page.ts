import { isTahoeError, type TahoeError } from "@lafs/interface";
import { WebError } from "./errors.js";
import { html } from "./html.js";
import { page } from "./page.js";

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
  [/^TAHOE_ERR_(IMMUTABLE_CAP|DOWNLOAD_CAP)$/, 400],
  // Tahoe-LAFS answers NotEnoughSharesError with 410 Gone; shares that decode to other bytes
  // than their hashes promise (a lying uploader) leave the file as unrecoverable.
  [/^TAHOE_ERR_((DOWNLOAD|IMMUTABLE)_NOT_ENOUGH_SHARES|IMMUTABLE_CRYPTTEXT_HASH)$/, 410],
  [/_ABORTED$/, 503],
];

function statusOf(error: TahoeError): number {
  if (error instanceof WebError) return error.status;
  for (const [pattern, status] of STATUS_BY_CODE) if (pattern.test(error.code)) return status;
  return 500;
}

/** Fastify's own errors (bad header, body parse) carry a 4xx statusCode and say nothing secret. */
function isClientError(error: unknown): error is Error & { statusCode: number } {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return error instanceof Error && typeof status === "number" && status >= 400 && status < 500;
}

export function errorView(error: unknown): ErrorView {
  if (isTahoeError(error)) {
    const view: ErrorView = { status: statusOf(error), code: error.code, message: error.message };
    if (error.hint !== undefined) view.hint = error.hint;
    return view;
  }
  if (isClientError(error)) {
    const tooLarge = error.statusCode === 413;
    return {
      status: error.statusCode,
      code: tooLarge ? "TAHOE_ERR_WEB_TOO_LARGE" : "TAHOE_ERR_WEB_BAD_REQUEST",
      message: error.message,
      hint: tooLarge
        ? "Upload a smaller file, or raise the node's upload limit."
        : "See Tahoe-LAFS's docs/frontends/webapi.rst for the requests the web API accepts.",
    };
  }
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

export function renderError(view: ErrorView, format: ErrorFormat): { contentType: string; body: string } {
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
  return { contentType: "text/html; charset=utf-8", body: page(`Error ${view.status} - Tahoe-LAFS`, body) };
}
