import { formatChkVerifyCap, type ImmutableCap, parseImmutableCap, verifyCapOf } from "@lafs/immutable";
import { isTahoeError } from "@lafs/interface";
import {
  formatMutableCap,
  looksLikeMutableCap,
  type MutableCap,
  verifyCapOf as mutableVerifyCapOf,
  parseMutableCap,
} from "@lafs/mutable";
import { WebError } from "./errors.js";
import type { WebMutableFile } from "./web-node.js";

/** A file cap from a URL: an immutable one (CHK, LIT, CHK-Verifier) or a mutable one (SSK, MDMF). */
export type WebFileCap = { family: "immutable"; cap: ImmutableCap } | { family: "mutable"; cap: MutableCap };

const CAP_HINT =
  "This node serves file caps: URI:CHK:KEY:UEBHASH:K:N:SIZE, URI:LIT:DATA, URI:SSK:/URI:SSK-RO:, " +
  "URI:MDMF:/URI:MDMF-RO: (and their -Verifier forms for ?t=json). Check that the whole cap was copied.";

/** Reads a cap from a URL; a bad one is the request's fault, so it becomes a 400 naming the problem. */
export function parseFileCap(text: string): WebFileCap {
  try {
    if (looksLikeMutableCap(text)) return { family: "mutable", cap: parseMutableCap(text) };
    return { family: "immutable", cap: parseImmutableCap(text) };
  } catch (error) {
    if (!isTahoeError(error)) throw error;
    throw new WebError("TAHOE_ERR_WEB_BAD_CAP", 400, error.message, { hint: CAP_HINT, cause: error });
  }
}

/** Tahoe-LAFS's `?t=json` answer for an immutable file node, computed from the cap alone. */
export function fileNodeJson(text: string, cap: ImmutableCap): [string, Record<string, unknown>] {
  if (cap.kind === "lit") {
    return ["filenode", { ro_uri: text, size: cap.data.length, format: "LIT", mutable: false }];
  }
  if (cap.kind === "chk-verifier") {
    return ["filenode", { verify_uri: text, size: cap.size, format: "CHK", mutable: false }];
  }
  return [
    "filenode",
    {
      ro_uri: text,
      verify_uri: formatChkVerifyCap(verifyCapOf(cap)),
      size: cap.size,
      format: "CHK",
      mutable: false,
    },
  ];
}

/**
 * Tahoe-LAFS's `?t=json` answer for a mutable file (`_file_json_metadata`): its size comes from the
 * grid (the version just read); a verify cap cannot read the file, so it has no size, as Tahoe
 * omits an unknown one.
 */
export function mutableFileNodeJson(
  cap: MutableCap,
  file: WebMutableFile | undefined,
): [string, Record<string, unknown>] {
  const data: Record<string, unknown> = { mutable: true, format: cap.format };
  if (file !== undefined) {
    data.size = file.size;
    data.ro_uri = file.readCap;
    if (file.writeCap !== undefined) data.rw_uri = file.writeCap;
    data.verify_uri = file.verifyCap;
  } else {
    data.verify_uri = formatMutableCap(mutableVerifyCapOf(cap));
  }
  return ["filenode", data];
}
