import type { FastifyRequest } from "fastify";
import { WebError } from "../errors.js";

/**
 * Refuses a POST that the browser says comes from another site: a form elsewhere could otherwise
 * post to a leaked panel URL. Requests without these headers (curl, old browsers) pass: they carry
 * no ambient authority, only the secret URL itself.
 */
export function assertSameOrigin(request: FastifyRequest): void {
  const site = request.headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin" && site !== "none")
    throw crossSite(`Sec-Fetch-Site: ${site}`);
  const origin = request.headers.origin;
  if (origin === undefined) return;
  // The panel's own Referrer-Policy: no-referrer makes the browser send "Origin: null" with its forms;
  // Sec-Fetch-Site then tells whether the POST came from the panel itself.
  if (origin === "null" && site === "same-origin") return;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined;
  }
  if (host === undefined || host !== request.headers.host) throw crossSite(`Origin: ${origin}`);
}

function crossSite(header: string): WebError {
  return new WebError(
    "TAHOE_ERR_WEB_CROSS_SITE",
    403,
    `the control panel refused a cross-site POST (${header})`,
    {
      hint: "Use the control panel's own forms; pages on other sites may not change this node's settings.",
    },
  );
}
