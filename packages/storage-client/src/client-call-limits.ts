import type { CallOptions } from "./client-api.js";

/**
 * One call's request options folded into the single AbortSignal undici takes: the deadline, the
 * caller's cancellation, the liveness probe's verdict and the idle limit. It remembers which of
 * them fired, because each fails the call with its own code.
 */
export interface CallLimits {
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  readonly idleMs: number | undefined;
  readonly timedOut: boolean;
  readonly idled: boolean;
  readonly userSignal: AbortSignal | undefined;
  readonly lostSignal: AbortSignal | undefined;
  /** The reply head came: from here on undici's bodyTimeout times each pause. */
  headArrived(): void;
  /** Stops every timer and listener; called once the call is over, however it ended. */
  release(): void;
}

export function startCallLimits(call: CallOptions | undefined, defaultTimeout: number): CallLimits {
  const timeoutMs = call?.timeoutMs ?? defaultTimeout;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`no reply within ${timeoutMs} ms`));
  }, timeoutMs);
  const userSignal = call?.signal;
  const onUserAbort = () => controller.abort(userSignal?.reason);
  if (userSignal?.aborted) onUserAbort();
  else userSignal?.addEventListener("abort", onUserAbort, { once: true });
  const lostSignal = call?.serverLost;
  const onLost = () => controller.abort(new Error("the server stopped answering its liveness probe"));
  if (lostSignal?.aborted) onLost();
  else lostSignal?.addEventListener("abort", onLost, { once: true });
  const idleMs = call?.idleTimeoutMs;
  // Until the reply head arrives (connecting included), silence is timed here; inside the
  // body, undici's bodyTimeout times each pause.
  let idled = false;
  const idleTimer =
    idleMs === undefined
      ? undefined
      : setTimeout(() => {
          idled = true;
          controller.abort(new Error(`nothing from the server for ${idleMs} ms`));
        }, idleMs);
  return {
    signal: controller.signal,
    timeoutMs,
    idleMs,
    get timedOut() {
      return timedOut;
    },
    get idled() {
      return idled;
    },
    userSignal,
    lostSignal,
    headArrived: () => clearTimeout(idleTimer),
    release: () => {
      clearTimeout(timer);
      clearTimeout(idleTimer);
      userSignal?.removeEventListener("abort", onUserAbort);
      lostSignal?.removeEventListener("abort", onLost);
    },
  };
}
