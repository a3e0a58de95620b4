import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { WebError } from "./errors.js";

/** `[node]web.upload-authority`: who may upload unlinked files through /uri. */
export interface UploadAuthority {
  mode: "anyone" | "private";
  /** private/api_auth_token, read when a request presents one; undefined when the file is missing. */
  token(): Promise<string | undefined>;
}

const digest = (text: string) => createHash("sha256").update(text).digest();

/** Constant time whatever the lengths: both sides are hashed first. */
export function secretEquals(candidate: string, secret: string): boolean {
  return timingSafeEqual(digest(candidate), digest(secret));
}

/**
 * Throws 403 (TAHOE_ERR_WEB_UPLOAD_FORBIDDEN) for an upload through the public web API on a node
 * whose uploads are private, unless the request proves it can read private/ with
 * `Authorization: tahoe-bearer TOKEN`.
 */
export async function assertMayUpload(
  request: FastifyRequest,
  authority: UploadAuthority | undefined,
): Promise<void> {
  if (authority === undefined || authority.mode === "anyone") return;
  const header = request.headers.authorization;
  const presented = header?.match(/^tahoe-bearer\s+(\S+)\s*$/i)?.[1];
  if (presented !== undefined) {
    const token = await authority.token();
    if (token !== undefined && secretEquals(presented, token)) return;
  }
  throw new WebError(
    "TAHOE_ERR_WEB_UPLOAD_FORBIDDEN",
    403,
    presented === undefined
      ? "this node takes no uploads on its public web API ([node]web.upload-authority = private)"
      : "the Authorization token is not this node's private/api_auth_token",
    {
      hint:
        "Upload with tahoe put on the node's machine (it sends private/api_auth_token), or through the control panel " +
        "(tahoe webopen --control-panel).",
    },
  );
}
