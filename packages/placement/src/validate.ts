import { PlacementInputError } from "./errors.js";
import { serverLabel } from "./server-label.js";
import type { PlacementRequest } from "./types.js";

/** Tahoe's zfec limit, and the range tahoe.cfg accepts for shares.*. */
export const MAX_SHARES = 256;
export const STORAGE_INDEX_BYTES = 16;

const ENCODING_HINT =
  "Encoding parameters must satisfy 1 <= shares.needed <= shares.happy <= shares.total <= 256 ([client] in tahoe.cfg).";

function isWholeNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value);
}

/** Throws PlacementInputError for any input no real grid could produce. */
export function validatePlacementRequest(request: PlacementRequest): void {
  const { k, happy, n } = request;
  for (const [name, value] of [
    ["shares.needed (k)", k],
    ["shares.happy", happy],
    ["shares.total (N)", n],
  ] as const) {
    if (!isWholeNumber(value) || value < 1 || value > MAX_SHARES) {
      throw new PlacementInputError(
        "TAHOE_ERR_PLACEMENT_ENCODING",
        `${name} = ${String(value)} is not a whole number from 1 to ${MAX_SHARES}`,
        { hint: ENCODING_HINT },
      );
    }
  }
  if (!(k <= happy && happy <= n)) {
    throw new PlacementInputError(
      "TAHOE_ERR_PLACEMENT_ENCODING",
      `encoding k=${k}, happy=${happy}, N=${n} is out of order: need k <= happy <= N`,
      { hint: ENCODING_HINT },
    );
  }
  if (!(request.storageIndex instanceof Uint8Array) || request.storageIndex.length !== STORAGE_INDEX_BYTES) {
    const got =
      request.storageIndex instanceof Uint8Array ? `${request.storageIndex.length} bytes` : "not bytes";
    throw new PlacementInputError(
      "TAHOE_ERR_PLACEMENT_STORAGE_INDEX",
      `storage index is ${got}; a storage index is ${STORAGE_INDEX_BYTES} bytes`,
      {
        hint: "Pass the storage index of the file (the first 16 bytes of its tagged key hash), not its cap.",
      },
    );
  }
  const seen = new Set<string>();
  request.servers.forEach((server, position) => {
    if (typeof server.id !== "string" || server.id === "") {
      throw new PlacementInputError(
        "TAHOE_ERR_PLACEMENT_SERVER",
        `server #${position + 1} in the list has an empty id`,
        { hint: "Every server needs its id (v0- followed by 52 base32 characters)." },
      );
    }
    const label = serverLabel(server);
    if (!(server.permutationSeed instanceof Uint8Array) || server.permutationSeed.length === 0) {
      throw new PlacementInputError(
        "TAHOE_ERR_PLACEMENT_SERVER",
        `server ${label} (#${position + 1} in the list) has no permutation seed`,
        { hint: "Derive the seed with permutationSeedFor(serverId, announcedPermutationSeedBase32)." },
      );
    }
    if (seen.has(server.id)) {
      throw new PlacementInputError(
        "TAHOE_ERR_PLACEMENT_DUPLICATE_SERVER",
        `server ${label} appears twice in the server list (again at #${position + 1})`,
        { hint: "Give each server once; merge the announcements and servers.yaml entries of one id first." },
      );
    }
    seen.add(server.id);
    for (const share of server.existingShares ?? []) {
      if (!isWholeNumber(share) || share < 0 || share >= n) {
        throw new PlacementInputError(
          "TAHOE_ERR_PLACEMENT_SHARE_NUMBER",
          `server ${label} holds share ${String(share)}, but shares of this file are numbered 0..${n - 1} (N = ${n})`,
          { hint: "Share numbers run from 0 to shares.total - 1; check the N the file was encoded with." },
        );
      }
    }
  });
}
