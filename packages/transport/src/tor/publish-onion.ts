import { readFile } from "node:fs/promises";
import { TorError } from "./errors.js";
import { addOnion, delOnion, parseOnionPrivateKey } from "./onion.js";
import type { TorProvider } from "./tor-provider.js";

export interface PublishOnionOptions {
  /** Absolute path of private/tor_onion.privkey. */
  readonly privateKeyFile: string;
  readonly localPort: number;
  readonly externalPort: number;
  /** Wait for the first descriptor upload; undefined returns right after ADD_ONION. */
  readonly waitForUploadMs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface PublishedOnion {
  readonly serviceId: string;
  /** DEL_ONION; the service also disappears if the node dies, since it is tied to the node's control connection. */
  unpublish(): Promise<void>;
}

/**
 * Re-publishes the node's onion service with the key create-node saved. Without Flags=Detach:
 * the service lives as long as the node's control connection, so a crashed node leaves none
 * behind.
 */
export async function publishOnionService(
  provider: TorProvider,
  options: PublishOnionOptions,
): Promise<PublishedOnion> {
  let text: string;
  try {
    text = await readFile(options.privateKeyFile, "utf8");
  } catch (error) {
    throw new TorError(
      "TAHOE_ERR_TOR_ONION_KEY",
      `cannot read the onion service key ${options.privateKeyFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      {
        hint: "Restore the file ([tor]onion.private_key_file) from a backup; without it the node's .onion address cannot be published.",
        cause: error,
      },
    );
  }
  const privateKey = parseOnionPrivateKey(text, options.privateKeyFile);
  const control = await provider.control(options.signal);
  const service = await addOnion(control, {
    privateKey,
    externalPort: options.externalPort,
    localPort: options.localPort,
    waitForUpload:
      options.waitForUploadMs === undefined
        ? undefined
        : { timeoutMs: options.waitForUploadMs, signal: options.signal },
  });
  let published = true;
  return {
    serviceId: service.serviceId,
    async unpublish() {
      if (!published) return;
      published = false;
      await delOnion(control, service.serviceId).catch(() => {
        // The connection (and with it the service) is already gone.
      });
    },
  };
}
