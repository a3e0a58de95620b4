import { secretEquals } from "../upload-authority.js";

export interface SecretGateOptions {
  /** The current secret and when it was written (ms since the epoch), or undefined when there is none. */
  read(): Promise<{ secret: string; writtenAt: number } | undefined>;
  /** Removes the secret if it is still `secret` (a new one may have been written meanwhile). */
  retire(secret: string): Promise<void>;
  /** A secret neither written nor used for this long is retired; undefined = never. */
  idleTimeoutMs?: number | undefined;
  now?: () => number;
}

/**
 * WebControl.secretMatches for a secret kept in a file: read on every request (so `tahoe webopen
 * --control-panel` takes effect at once), compared in constant time, and retired after an idle timeout
 * (the file is deleted, so a later `webopen` is needed). Never logs the secret.
 */
export function createSecretGate(options: SecretGateOptions): (candidate: string) => Promise<boolean> {
  const now = options.now ?? Date.now;
  let lastUse: { secret: string; at: number } | undefined;
  return async (candidate) => {
    const current = await options.read();
    if (current === undefined) return false;
    const t = now();
    const used =
      lastUse?.secret === current.secret ? Math.max(lastUse.at, current.writtenAt) : current.writtenAt;
    if (options.idleTimeoutMs !== undefined && t - used > options.idleTimeoutMs) {
      await options.retire(current.secret);
      lastUse = undefined;
      return false;
    }
    if (!secretEquals(candidate, current.secret)) return false;
    lastUse = { secret: current.secret, at: t };
    return true;
  };
}
