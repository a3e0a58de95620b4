import { TransportError } from "./errors.js";

/** One signal that fires on the caller's abort, on our timeout (reason: TIMEOUT) or on close. */
export function linkSignals(
  parents: readonly (AbortSignal | undefined)[],
  timeoutMs: number | undefined,
  timeoutMessage: () => string,
): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const cleanups: (() => void)[] = [];
  for (const parent of parents) {
    if (!parent) continue;
    if (parent.aborted) {
      controller.abort(parent.reason);
      break;
    }
    const onAbort = () => controller.abort(parent.reason);
    parent.addEventListener("abort", onAbort, { once: true });
    cleanups.push(() => parent.removeEventListener("abort", onAbort));
  }
  if (timeoutMs !== undefined && !controller.signal.aborted) {
    const timer = setTimeout(
      () =>
        controller.abort(
          new TransportError("TAHOE_ERR_TRANSPORT_TIMEOUT", timeoutMessage(), {
            hint: "the server or the Tor/I2P network did not answer in time; check the server runs, or try again later",
          }),
        ),
      timeoutMs,
    );
    timer.unref?.();
    cleanups.push(() => clearTimeout(timer));
  }
  return {
    signal: controller.signal,
    dispose: () => {
      for (const c of cleanups) c();
    },
  };
}
