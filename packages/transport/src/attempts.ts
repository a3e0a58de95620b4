import type { HandlerName } from "./policy.js";

/** One connection attempt to one hint, as the welcome page shows it. */
export interface ConnectionAttempt {
  serverId?: string;
  /** The hint as text, e.g. `tor:xxxx.onion:3457`. */
  hint: string;
  handler: HandlerName;
  ok: boolean;
  error?: { code: string; message: string };
  /** When the attempt started, ms since the epoch. */
  at: number;
  durationMs: number;
}

export interface AttemptLog {
  record(attempt: ConnectionAttempt): void;
  list(serverId?: string): readonly ConnectionAttempt[];
}

/** Keeps the last `perServer` attempts of each server, so a server that never answers cannot grow memory. */
export function createAttemptLog(perServer = 64): AttemptLog {
  const byServer = new Map<string, ConnectionAttempt[]>();
  return {
    record(attempt) {
      const key = attempt.serverId ?? "";
      const list = byServer.get(key) ?? [];
      list.push(attempt);
      if (list.length > perServer) list.splice(0, list.length - perServer);
      byServer.set(key, list);
    },
    list(serverId) {
      if (serverId !== undefined) return [...(byServer.get(serverId) ?? [])];
      return [...byServer.values()].flat().sort((a, b) => a.at - b.at);
    },
  };
}
