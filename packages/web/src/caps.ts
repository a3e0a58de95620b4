import { formatChkVerifyCap, type ImmutableCap, parseImmutableCap, verifyCapOf } from "@lafs/immutable";
import { isTahoeError } from "@lafs/interface";
import { WebError } from "./errors.js";

/** Reads a cap from a URL; a bad one is the request's fault, so it becomes a 400 naming the problem. */
export function parseFileCap(text: string): ImmutableCap {
  try {
    return parseImmutableCap(text);
  } catch (error) {
    if (!isTahoeError(error)) throw error;
    const hint =
      "This node serves immutable file caps: URI:CHK:KEY:UEBHASH:K:N:SIZE, URI:LIT:DATA " +
      "(or URI:CHK-Verifier:... for ?t=json). Check that the whole cap was copied.";
    throw new WebError("TAHOE_ERR_WEB_BAD_CAP", 400, error.message, { hint, cause: error });
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
