import { MAX_SHARES, type PlacementServer, permutationSeedFor, placeShares } from "@lafs/placement";
import { WebError } from "../errors.js";
import type { ControlServers } from "./control-node.js";
import { panelWords } from "./panel-words.js";

type Encoding = { k: number; happy: number; n: number };

/**
 * The grid as the simulator models it with every known server up and taking shares: what is left
 * of a refusal then is the encoding's doing, not a server that happens to be down right now.
 */
function gridAtBest(servers: ControlServers): PlacementServer[] {
  return servers.servers.map((s) => ({
    id: s.id,
    nickname: s.nickname,
    permutationSeed: permutationSeedFor(s.id, s.permutationSeed),
    connected: true,
    writable: true,
    allowed: s.allowed,
    required: s.required,
  }));
}

/** Placement's first refusal for `encoding` on `grid`, or undefined when it places (the simulator's own code). */
function refusalFor(
  encoding: Encoding,
  grid: PlacementServer[],
): { message: string; hint: string } | undefined {
  const { k, happy, n } = encoding;
  if (!(k >= 1 && k <= happy && happy <= n && n <= MAX_SHARES)) {
    return { message: `k = ${k}, happy = ${happy}, N = ${n} break the rule`, hint: "" };
  }
  // Any storage index will do: it only orders the servers, and whether shares fit is about counts.
  const plan = placeShares({ storageIndex: new Uint8Array(16), servers: grid, k, happy, n });
  const first = plan.refusals[0];
  if (plan.ok || first === undefined) return undefined;
  return { message: first.message, hint: panelWords(first.hint) };
}

/** Values near the user's that this grid can place, if any: happy no more than the allowed servers. */
function suggestion(wanted: Encoding, grid: PlacementServer[]): Encoding | undefined {
  const allowed = grid.filter((s) => s.allowed !== false).length;
  if (allowed === 0) return undefined;
  const happy = Math.max(1, Math.min(wanted.happy, allowed, MAX_SHARES));
  const k = Math.max(1, Math.min(wanted.k, happy));
  const n = Math.min(MAX_SHARES, Math.max(wanted.n, happy));
  const candidate = { k, happy, n };
  return refusalFor(candidate, grid) === undefined ? candidate : undefined;
}

const words = (e: Encoding) => `k = ${e.k}, happy = ${e.happy}, N = ${e.n}`;

/**
 * Refuses an encoding the panel should not save: one that breaks 1 <= k <= happy <= N <= 256, or
 * one placement refuses on this grid even with every server up, when other values would place.
 * The message is the simulator's (placement's) own reason; the hint names values that fit.
 */
export function checkEncodingForGrid(encoding: Encoding, servers: ControlServers): void {
  const grid = gridAtBest(servers);
  const better = suggestion(encoding, grid);
  const fits = better === undefined ? "" : ` This grid can place, for example, ${words(better)}.`;
  const { k, happy, n } = encoding;
  if (!(k >= 1 && k <= happy && happy <= n && n <= MAX_SHARES)) {
    throw new WebError(
      "TAHOE_ERR_WEB_BAD_ENCODING",
      400,
      `${words(encoding)} is not a valid encoding: it must satisfy 1 <= k <= happy <= N <= ${MAX_SHARES}`,
      { hint: `Nothing was saved.${fits}` },
    );
  }
  const refusal = refusalFor(encoding, grid);
  // A grid that places nothing whatever the encoding (no servers, a required server not allowed) is
  // not the encoding's fault: the values are saved and the uploads banner says what is wrong.
  if (refusal === undefined || better === undefined) return;
  throw new WebError(
    "TAHOE_ERR_WEB_BAD_ENCODING",
    400,
    `${words(encoding)} cannot be placed on this grid, even with every server up: ${refusal.message}`,
    { hint: `Nothing was saved.${fits} Try values in the Simulator first.` },
  );
}
