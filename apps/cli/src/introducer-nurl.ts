import { formatNurl, NODE_FILES, parseTubLocation } from "@lafs/config";
import { base32Encode, randomSecret } from "@lafs/crypto";

/** Foolscap's swissnum size, which Tahoe-LAFS's introducer fURL uses too: 160 bits. */
const SWISSNUM_BYTES = 20;

/**
 * private/introducer.furl for `tahoe create-introducer`: the introducer's NURL, one line per
 * tcp or tor hint of tub.location, made now so it can be handed out before the introducer first
 * runs. It pins private/node.pem and carries a new swissnum. Undefined when tub.location has no
 * usable hint (disabled, or AUTO alone): the node then makes the file at its first start.
 */
export function introducerFurlFile(
  spkiHash: string,
  tubLocation: string,
): { path: string; data: string; private: true } | undefined {
  const location = parseTubLocation(tubLocation);
  if (location.kind === "disabled") return undefined;
  const hints = location.hints.filter((h) => h.kind === "tcp" || h.kind === "tor");
  if (hints.length === 0) return undefined;
  const swissnum = base32Encode(randomSecret(SWISSNUM_BYTES));
  const nurls = hints.map((h) => formatNurl({ spkiHash, hints: [h], swissnum, version: 1 }));
  return { path: NODE_FILES.introducerFurl, data: nurls.map((n) => `${n}\n`).join(""), private: true };
}
