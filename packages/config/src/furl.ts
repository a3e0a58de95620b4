import { base32Decode, isBase32 } from "@lafs/crypto";
import { type ConnectionHint, parseHint } from "./hint.js";
import { ConfigValueError } from "./issues.js";

/** A Foolscap fURL. Only the tub id matters to this node: it seeds lease and write-enabler secrets. */
export interface Furl {
  /** 32 lower-case base32 characters. */
  tubId: string;
  /** The 20 bytes the tub id encodes (wire-formats §2.13 `server_lease_seed`). */
  tubIdBytes: Uint8Array;
  hints: ConnectionHint[];
  swissnum: string;
}

const FURL_FORM = "a fURL is pb://TUBID@HINT[,HINT...]/SWISSNUM, TUBID being 32 base32 characters (a-z, 2-7)";

/**
 * Strict RFC 4648 base32 (Tahoe's lower-case alphabet, no padding). Returns undefined when the
 * text is not the canonical encoding of `length` bytes, so a truncated or mistyped value is
 * refused instead of silently decoding to other bytes.
 */
export function decodeBase32Exact(text: string, length: number): Uint8Array | undefined {
  return isBase32(text, length) ? base32Decode(text) : undefined;
}

/** Hides the secret path segment, so an error message or log line can show the rest of the URL. */
export function redactUrlSecret(text: string): string {
  const at = text.indexOf("@");
  const slash = text.indexOf("/", at < 0 ? text.indexOf("//") + 2 : at);
  if (slash < 0) return text;
  const hash = text.indexOf("#", slash);
  return `${text.slice(0, slash + 1)}<secret>${hash < 0 ? "" : text.slice(hash)}`;
}

/** The parts of `SCHEME://ID@LOCATIONS/SECRET[#FRAGMENT]`, checked only for shape. */
export interface UrlParts {
  scheme: string;
  id: string;
  locations: string[];
  secret: string;
  fragment: string | undefined;
}

/** Splits a pb:// style URL; `fail` builds the error for the caller's URL kind. */
export function splitPbUrl(text: string, fail: (why: string) => Error): UrlParts {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/is.exec(text);
  if (!m) throw fail("is not a pb:// URL");
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!;
  const at = rest.indexOf("@");
  if (at < 0) throw fail("has no '@' after the key hash or tub id");
  const id = rest.slice(0, at);
  const afterAt = rest.slice(at + 1);
  const slash = afterAt.indexOf("/");
  if (slash < 0) throw fail("has no '/SWISSNUM' part");
  const locationText = afterAt.slice(0, slash);
  const pathAndFragment = afterAt.slice(slash + 1);
  const hash = pathAndFragment.indexOf("#");
  const secret = hash < 0 ? pathAndFragment : pathAndFragment.slice(0, hash);
  const fragment = hash < 0 ? undefined : pathAndFragment.slice(hash + 1);
  if (secret === "") throw fail("has an empty swissnum");
  if (!/^[A-Za-z0-9._~-]+$/.test(secret)) {
    throw fail("has a swissnum with characters outside A-Z a-z 0-9 . _ ~ -");
  }
  const locations = locationText === "" ? [] : locationText.split(",");
  return { scheme, id, locations, secret, fragment };
}

/**
 * Parses a Foolscap fURL such as `anonymous-storage-FURL`. Throws ConfigValueError
 * (TAHOE_ERR_CONFIG_FURL) naming the fURL with its swissnum hidden.
 */
export function parseFurl(text: string): Furl {
  const trimmed = text.trim();
  const shown = redactUrlSecret(trimmed);
  const fail = (why: string, hint: string = FURL_FORM) =>
    new ConfigValueError("TAHOE_ERR_CONFIG_FURL", `fURL '${shown}' ${why}`, { hint });
  if (trimmed === "")
    throw new ConfigValueError("TAHOE_ERR_CONFIG_FURL", "fURL is empty", { hint: FURL_FORM });
  const parts = splitPbUrl(trimmed, fail);
  if (parts.scheme !== "pb") throw fail(`has scheme '${parts.scheme}://' instead of pb://`);
  if (parts.fragment !== undefined) {
    if (parts.fragment === "v=1") {
      throw fail(
        "is a NURL (it ends in #v=1), not a Foolscap fURL",
        `${FURL_FORM}; the NURL belongs in a NURL field`,
      );
    }
    throw fail(`has an unexpected '#${parts.fragment}'`);
  }
  const tubIdBytes = decodeBase32Exact(parts.id, 20);
  if (!tubIdBytes) {
    throw fail(`has tub id '${parts.id}', which is not 32 base32 characters (a-z, 2-7)`);
  }
  const hints: ConnectionHint[] = [];
  for (const location of parts.locations) {
    try {
      hints.push(parseHint(location));
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new ConfigValueError("TAHOE_ERR_CONFIG_FURL", `fURL '${shown}' has a bad location hint: ${why}`, {
        hint: FURL_FORM,
        cause: err,
      });
    }
  }
  return { tubId: parts.id, tubIdBytes, hints, swissnum: parts.secret };
}
