import type { IntroducerConnectionStatus } from "./introducer-client.js";
import type { ServerInfo } from "./server-list.js";

/** The JSON form of the grid as this node sees it: what private/server-list.json and web pages show. */
export interface GridSnapshot {
  /** Milliseconds since the epoch. */
  writtenAt: number;
  introducers: IntroducerConnectionStatus[];
  servers: Omit<ServerInfo, "announcement" | "nurls">[];
}

/**
 * A snapshot without secrets: NURLs and the announcement (which holds them) are left out, since
 * a swissnum lets anyone store and read shares.
 */
export function gridSnapshot(
  servers: readonly ServerInfo[],
  introducers: readonly IntroducerConnectionStatus[],
  now: number,
): GridSnapshot {
  return {
    writtenAt: now,
    introducers: [...introducers],
    servers: servers.map(({ announcement: _a, nurls: _n, furl: _f, ...rest }) => rest),
  };
}
