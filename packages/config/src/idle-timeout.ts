import { quoteValue } from "./ini.js";
import { ConfigValueError } from "./issues.js";

export const IDLE_TIMEOUT_ALLOWED =
  "a whole number of seconds (900), or a number and a unit s, m, h or d (15m, 2h, 1d); at most 365d";

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
const MAX_SECONDS = 365 * 86_400;

/** `900`, `15m`, `2h`, `1d` -> seconds. Tahoe's parse_duration knows only days and longer. */
export function parseIdleTimeout(text: string): number {
  const m = /^(\d{1,9})\s*([smhd]?)$/i.exec(text.trim());
  const seconds = m ? Number(m[1]) * UNITS[(m[2] || "s").toLowerCase()]! : Number.NaN;
  if (!(seconds >= 1 && seconds <= MAX_SECONDS)) {
    throw new ConfigValueError(
      "TAHOE_ERR_CONFIG_BAD_DURATION",
      `${quoteValue(text)} is not an idle timeout`,
      {
        hint: IDLE_TIMEOUT_ALLOWED,
      },
    );
  }
  return seconds;
}
