import { decodeBase32Exact, redactUrlSecret, splitPbUrl } from "./furl.js";
import { type ConnectionHint, formatHint, formatHostPort, parseHint } from "./hint.js";
import { ConfigValueError } from "./issues.js";

/** A GBS service address: TLS key pin, where to connect, and the access secret. */
export interface Nurl {
  /** Unpadded base64url SHA-256 of the server certificate's DER SubjectPublicKeyInfo: 43 characters. */
  spkiHash: string;
  hints: ConnectionHint[];
  swissnum: string;
  version: 1;
}

const NURL_FORM =
  "a NURL is pb://SPKIHASH@HOST:PORT/SWISSNUM#v=1 (pb+tor:// for an onion service, pb+i2p:// for an " +
  "I2P destination), SPKIHASH being " +
  "43 base64url characters; this node also accepts several comma-separated hints as the location";

const SPKI_HASH = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/**
 * The SPKI hash encodes exactly 32 bytes, so its last character carries 2 zero bits: checking
 * that catches a truncated or mistyped pin before any TLS handshake fails on it.
 */
export function isSpkiHash(text: string): boolean {
  return SPKI_HASH.test(text);
}

const EXPLICIT_HINT = /^(tcp|tor|i2p):/i;

/**
 * Parses a NURL. Throws ConfigValueError (TAHOE_ERR_CONFIG_NURL) naming the NURL with its
 * swissnum hidden; a Foolscap fURL gets its own message, since this node cannot use one.
 */
export function parseNurl(text: string): Nurl {
  const trimmed = text.trim();
  const shown = redactUrlSecret(trimmed);
  const fail = (why: string, hint: string = NURL_FORM) =>
    new ConfigValueError("TAHOE_ERR_CONFIG_NURL", `NURL '${shown}' ${why}`, { hint });
  if (trimmed === "")
    throw new ConfigValueError("TAHOE_ERR_CONFIG_NURL", "NURL is empty", { hint: NURL_FORM });
  const parts = splitPbUrl(trimmed, fail);
  if (parts.scheme !== "pb" && parts.scheme !== "pb+tor" && parts.scheme !== "pb+i2p") {
    throw fail(`has scheme '${parts.scheme}://' instead of pb://, pb+tor:// or pb+i2p://`);
  }
  // pb+tor:// (Tahoe-LAFS's) and pb+i2p:// (ours, by analogy) make a bare HOST:PORT location a tor or i2p hint.
  const implied = parts.scheme === "pb+tor" ? "tor" : parts.scheme === "pb+i2p" ? "i2p" : undefined;
  if (parts.fragment === undefined && parts.scheme === "pb" && decodeBase32Exact(parts.id, 20)) {
    throw new ConfigValueError(
      "TAHOE_ERR_CONFIG_NURL",
      `'${shown}' is a Foolscap fURL, not a NURL: this node speaks only the HTTP storage protocol (GBS)`,
      {
        hint:
          "use the service's NURL instead (pb://SPKIHASH@HOST:PORT/SWISSNUM#v=1); Tahoe-LAFS storage " +
          "servers announce theirs as anonymous-storage-NURLs",
      },
    );
  }
  if (parts.fragment === undefined) throw fail("does not end in #v=1");
  if (parts.fragment !== "v=1") throw fail(`has '#${parts.fragment}'; only NURL version 1 (#v=1) is known`);
  if (!isSpkiHash(parts.id)) {
    throw fail(`has key hash '${parts.id}', which is not 43 base64url characters encoding 32 bytes`);
  }
  if (parts.locations.length === 0) throw fail("has no location (HOST:PORT) after '@'");
  const hints: ConnectionHint[] = [];
  for (const location of parts.locations) {
    let hint: ConnectionHint;
    try {
      hint = parseHint(location);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new ConfigValueError("TAHOE_ERR_CONFIG_NURL", `NURL '${shown}' has a bad location: ${why}`, {
        hint: NURL_FORM,
        cause: err,
      });
    }
    if (!EXPLICIT_HINT.test(location.trim()) && implied !== undefined && hint.kind === "tcp") {
      hint = { ...hint, kind: implied };
    }
    hints.push(hint);
  }
  return { spkiHash: parts.id, hints, swissnum: parts.secret, version: 1 };
}

/**
 * Renders a NURL. A single tcp or tor location is written the way Tahoe-LAFS writes it
 * (`host:port`, with pb+tor:// for tor), a single i2p one with a port likewise as pb+i2p://
 * (Tahoe-LAFS's URL parser reads `i2p:ADDR:PORT` as a port, and refuses the whole announcement);
 * several locations become a comma list of typed hints.
 */
export function formatNurl(n: Nurl): string {
  const only = n.hints.length === 1 ? n.hints[0]! : undefined;
  let text: string;
  if (only && only.kind === "tcp") {
    formatHint(only);
    text = `pb://${n.spkiHash}@${formatHostPort(only)}/${n.swissnum}#v=${n.version}`;
  } else if (only && only.kind === "tor") {
    formatHint(only);
    text = `pb+tor://${n.spkiHash}@${formatHostPort(only)}/${n.swissnum}#v=${n.version}`;
  } else if (only && only.kind === "i2p" && only.port !== undefined) {
    formatHint(only);
    text = `pb+i2p://${n.spkiHash}@${formatHostPort(only)}/${n.swissnum}#v=${n.version}`;
  } else {
    text = `pb://${n.spkiHash}@${n.hints.map(formatHint).join(",")}/${n.swissnum}#v=${n.version}`;
  }
  // The same checks as for a NURL read from a file: never hand out a string parseNurl refuses.
  parseNurl(text);
  return text;
}
