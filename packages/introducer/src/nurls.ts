import { type ConnectionHint, formatHint, formatNurl } from "@lafs/config";

/** Foolscap's swissnum size, which Tahoe-LAFS uses for the introducer too: 160 bits. */
export const INTRODUCER_SWISSNUM_BYTES = 20;

/**
 * The introducer's NURLs, one per tcp or tor location hint, as storage NURLs are made: the
 * NURL pins the node certificate and carries the swissnum every route sits under. I2P hints
 * are left out, like Tahoe-LAFS's HTTP client, which cannot use them.
 */
export function introducerNurls(
  spkiHash: string,
  swissnum: string,
  hints: readonly ConnectionHint[],
): string[] {
  return hints
    .filter((h) => h.kind === "tcp" || h.kind === "tor")
    .map((h) => formatNurl({ spkiHash, hints: [h], swissnum, version: 1 }));
}

/**
 * The introducer's Foolscap fURL, as Tahoe-LAFS writes it to private/introducer.furl: the tub id
 * of private/node.pem, every location hint, and the same swissnum as the NURLs.
 */
export function introducerFurl(tubId: string, swissnum: string, hints: readonly ConnectionHint[]): string {
  return `pb://${tubId}@${hints.map(formatHint).join(",")}/${swissnum}`;
}
