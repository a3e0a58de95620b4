/** A one-line progress bar for stderr, redrawn in place with `\r`. */
export interface Progress {
  add(bytes: number): void;
  /** Draws the final state and ends the line. */
  done(): void;
}

const WIDTH = 30;
const REDRAW_MS = 100;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** The bar's text for `sent` of `total` bytes (total unknown: a count only). */
export function progressLine(sent: number, total: number | undefined): string {
  if (total === undefined || total <= 0) return `${formatBytes(sent)}`;
  const fraction = Math.min(1, sent / total);
  const filled = Math.round(fraction * WIDTH);
  const bar = `${"#".repeat(filled)}${"-".repeat(WIDTH - filled)}`;
  return `[${bar}] ${String(Math.floor(fraction * 100)).padStart(3)}% ${formatBytes(sent)} / ${formatBytes(total)}`;
}

export function createProgress(
  write: (text: string) => void,
  total: number | undefined,
  now: () => number = Date.now,
): Progress {
  let sent = 0;
  let drawnAt = 0;
  let finished = false;
  const draw = () => write(`\r${progressLine(sent, total)}\x1b[K`);
  return {
    add(bytes) {
      sent += bytes;
      // Redrawing every chunk would cost more than the transfer on a fast loopback.
      if (now() - drawnAt >= REDRAW_MS) {
        drawnAt = now();
        draw();
      }
    },
    done() {
      if (finished) return;
      finished = true;
      draw();
      write("\n");
    },
  };
}
