/** The subset of pino's API that packages use, so each component gets an injected logger. */
export interface LogFn {
  (message: string): void;
  (fields: Record<string, unknown>, message?: string): void;
}

export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

const ignore: LogFn = () => {};

/** A logger that drops everything: the default where a caller passes none. */
export const silentLogger: Logger = {
  trace: ignore,
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
  fatal: ignore,
  child: () => silentLogger,
};

/** One line a recordingLogger kept: its level, message and fields (the child bindings included). */
export interface LogLine {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

/**
 * A logger that keeps every line in memory, so a caller (a test, or a page that shows recent
 * lines) can read what was logged and at which level.
 */
export function recordingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const at =
      (level: string) =>
      (first?: unknown, second?: unknown): void => {
        const fields = typeof first === "object" && first !== null ? (first as Record<string, unknown>) : {};
        const msg = typeof first === "string" ? first : typeof second === "string" ? second : "";
        lines.push({ level, msg, fields: { ...bindings, ...fields } });
      };
    return {
      trace: at("trace"),
      debug: at("debug"),
      info: at("info"),
      warn: at("warn"),
      error: at("error"),
      fatal: at("fatal"),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return { logger: make({}), lines };
}
