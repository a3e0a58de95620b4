import type { TorControl } from "./control-connection.js";
import { TorError } from "./errors.js";

/** One "Bootstrapped NN% (tag): summary" step, for a progress line. */
export interface TorBootstrapProgress {
  readonly progress: number;
  readonly tag: string;
  readonly summary: string;
  /** Tor's latest bootstrap warning (e.g. "Connection refused"), if any so far. */
  readonly warning?: string | undefined;
}

export type TorProgressListener = (progress: TorBootstrapProgress) => void;

/** Parses "NOTICE BOOTSTRAP PROGRESS=NN TAG=x SUMMARY="..." [WARNING=...]" (control-spec §5.3, status/bootstrap-phase). */
export function parseBootstrapPhase(text: string): (TorBootstrapProgress & { severity: string }) | undefined {
  const m = /(NOTICE|WARN|ERR) BOOTSTRAP PROGRESS=(\d+) TAG=(\S+) SUMMARY="((?:[^"\\]|\\.)*)"/.exec(text);
  if (m === null) return undefined;
  const warning = /WARNING="((?:[^"\\]|\\.)*)"/.exec(text)?.[1];
  return {
    severity: m[1] as string,
    progress: Number(m[2]),
    tag: m[3] as string,
    summary: (m[4] as string).replace(/\\(.)/g, "$1"),
    warning: warning?.replace(/\\(.)/g, "$1"),
  };
}

export interface WaitForBootstrapOptions {
  timeoutMs: number;
  onProgress?: TorProgressListener | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Resolves when Tor reports 100 %, calling onProgress for each step: a tor that cannot reach
 * the network shows where it is stuck instead of hanging silently.
 */
export async function waitForBootstrap(control: TorControl, options: WaitForBootstrapOptions): Promise<void> {
  let last: TorBootstrapProgress | undefined;
  let warning: string | undefined;
  let done!: () => void;
  const finished = new Promise<void>((r) => {
    done = r;
  });
  const seen = (text: string) => {
    const phase = parseBootstrapPhase(text);
    if (phase === undefined) return;
    if (phase.warning !== undefined) warning = phase.warning;
    if (last === undefined || phase.progress !== last.progress) {
      last = { progress: phase.progress, tag: phase.tag, summary: phase.summary, warning };
      options.onProgress?.(last);
    }
    if (phase.progress >= 100) done();
  };
  const unsubscribe = await control.subscribe(["STATUS_CLIENT"], seen);
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    const info = await control.getInfo("status/bootstrap-phase");
    seen(info.get("status/bootstrap-phase") ?? "");
    await Promise.race([
      finished,
      control.closed.then(() => {
        throw new TorError(
          "TAHOE_ERR_TOR_LAUNCH",
          `tor (${control.endpoint}) exited while bootstrapping (at ${last?.progress ?? 0}%)`,
          {
            hint: "See tor's log for why it stopped.",
          },
        );
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const where = last ? `stuck at ${last.progress}% (${last.summary})` : "no progress reported";
          reject(
            new TorError(
              "TAHOE_ERR_TOR_BOOTSTRAP_TIMEOUT",
              `tor (${control.endpoint}) did not finish bootstrapping within ${Math.round(options.timeoutMs / 1000)} s: ${where}${warning ? `; last warning: ${warning}` : ""}`,
              {
                hint: "Check this machine's network access to the Tor network (or the torrc lines of [tor]torrc.file), or raise [tor]bootstrap.timeout.",
              },
            ),
          );
        }, options.timeoutMs);
      }),
      new Promise<never>((_, reject) => {
        onAbort = () => reject(options.signal?.reason ?? new Error("aborted"));
        if (options.signal?.aborted) onAbort();
        options.signal?.addEventListener("abort", onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) options.signal?.removeEventListener("abort", onAbort);
    unsubscribe();
  }
}
