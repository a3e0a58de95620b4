import { base32Encode } from "@lafs/crypto";
import type { Logger } from "@lafs/interface";
import type { UploadServer } from "../grid-server.js";
import { reasonOf } from "./errors.js";

/** A share that failed a check, and whether its server took our corruption advisory. */
export interface MutableCorruptShareReport {
  readonly serverId: string;
  readonly shareNumber: number;
  readonly reason: string;
  readonly advised: boolean;
  readonly adviseError?: string | undefined;
}

/**
 * Tells a server one of its mutable shares is corrupt (Tahoe's advise_corrupt_share); never
 * throws: a server that does not take the advisory is logged.
 */
export async function adviseCorrupt(
  server: UploadServer,
  storageIndex: Uint8Array,
  shnum: number,
  reason: string,
  logger: Logger,
  signal?: AbortSignal,
): Promise<MutableCorruptShareReport> {
  const si = base32Encode(storageIndex);
  logger.warn({ si, server: server.id, share: shnum, reason }, "corrupt mutable share, advising its server");
  try {
    await server.client.adviseCorrupt("mutable", storageIndex, shnum, reason.slice(0, 10_000), {
      ...(signal ? { signal } : {}),
    });
    return { serverId: server.id, shareNumber: shnum, reason, advised: true };
  } catch (error) {
    logger.warn(
      { si, server: server.id, share: shnum, error: reasonOf(error) },
      "corruption advisory failed",
    );
    return { serverId: server.id, shareNumber: shnum, reason, advised: false, adviseError: reasonOf(error) };
  }
}
