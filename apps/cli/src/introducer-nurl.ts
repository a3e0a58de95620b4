import { formatHint, formatNurl, NODE_FILES, parseTubLocation } from "@lafs/config";
import { base32Encode, randomSecret } from "@lafs/crypto";

/** Foolscap's swissnum size, which Tahoe-LAFS's introducer fURL uses too: 160 bits. */
const SWISSNUM_BYTES = 20;

/**
 * The introducer's addresses for `tahoe create-introducer`, made now so they can be handed out
 * before it first runs: private/introducer.furl holds the Foolscap fURL, as Tahoe-LAFS writes it
 * (tub id of private/node.pem, every hint of tub.location), for Tahoe-LAFS nodes;
 * private/introducer.nurl holds one NURL per tcp or tor hint (pinning node.pem) for lafs-ts
 * nodes. Both carry the same new swissnum. Empty when tub.location has no usable hint
 * (disabled, or AUTO alone): the node then makes the files at its first start.
 */
export function introducerAddressFiles(
  tubId: string,
  spkiHash: string,
  tubLocation: string,
): { path: string; data: string; private: true }[] {
  const location = parseTubLocation(tubLocation);
  if (location.kind === "disabled") return [];
  const nurlHints = location.hints.filter((h) => h.kind === "tcp" || h.kind === "tor");
  if (nurlHints.length === 0) return [];
  const swissnum = base32Encode(randomSecret(SWISSNUM_BYTES));
  const furl = `pb://${tubId}@${location.hints.map(formatHint).join(",")}/${swissnum}`;
  const nurls = nurlHints.map((h) => formatNurl({ spkiHash, hints: [h], swissnum, version: 1 }));
  return [
    { path: NODE_FILES.introducerFurl, data: `${furl}\n`, private: true },
    { path: NODE_FILES.introducerNurl, data: nurls.map((n) => `${n}\n`).join(""), private: true },
  ];
}
