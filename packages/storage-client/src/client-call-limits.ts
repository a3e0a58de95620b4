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

/**
 * The body a call's time limit is sized for: Tahoe-LAFS gives its PATCHes of about 1 MB 60 s
 * until the reply, body included. The limit runs to the end of the reply here, so a call that
 * carries a larger body either way (a PATCH, a share read) gets as long again per megabyte: a
 * slow link (Tor) that carries Tahoe's 1 MB requests in time carries this client's larger ones.
 */
const TIMED_BODY_BYTES = 1_000_000;

/** `call` with its time limit grown for a body of `bytes`, unless it sets its own. */
export function timedForBody(
  call: CallOptions | undefined,
  defaultTimeout: number,
  bytes: number,
): CallOptions | undefined {
  if (call?.timeoutMs !== undefined || bytes <= TIMED_BODY_BYTES) return call;
  return { ...call, timeoutMs: Math.ceil((defaultTimeout * bytes) / TIMED_BODY_BYTES) };
}
