import { maximumMatching } from "./matching.js";
import { permutedOrder } from "./permutation.js";
import {
  belowHappiness,
  noServers,
  notEnoughAllowed,
  notEnoughConnected,
  notEnoughWritable,
  requiredNotAllowed,
  requiredNotConnected,
  requiredReadOnly,
} from "./refusals.js";
import { serverLabel } from "./server-label.js";
import type {
  Placement,
  PlacementRefusal,
  PlacementRequest,
  PlacementServer,
  ServerPlan,
  ServerState,
} from "./types.js";
import { validatePlacementRequest } from "./validate.js";

/** Working state of one server while placement runs. */
interface Slot {
  readonly server: PlacementServer;
  readonly rank: number;
  readonly state: ServerState;
  readonly allowed: boolean;
  readonly required: boolean;
  readonly existing: readonly number[];
  candidate: boolean;
  readonly newShares: Set<number>;
}

function stateOf(server: PlacementServer, allowed: boolean): ServerState {
  if (!allowed) return "not-allowed";
  if (!server.connected) return "not-connected";
  return server.writable ? "writable" : "read-only";
}

const usable = (slot: Slot): boolean => slot.state === "writable" || slot.state === "read-only";

/**
 * Matches `slots` to shares they already hold (minus `taken`), marking the matched shares
 * taken. Returns the slots that got a share.
 */
function matchExisting(slots: readonly Slot[], taken: Set<number>, n: number): Set<Slot> {
  const adjacency = slots.map((slot) => slot.existing.filter((share) => !taken.has(share)));
  const matching = maximumMatching(adjacency, n);
  const matched = new Set<Slot>();
  slots.forEach((slot, i) => {
    const share = matching.leftMatch[i]!;
    if (share >= 0) {
      taken.add(share);
      matched.add(slot);
    }
  });
  return matched;
}

/**
 * Decides which shares go to which server for one upload. It never throws for a grid
 * that cannot take the upload: the result says so in `refusals`. It throws
 * PlacementInputError only for impossible input (see validatePlacementRequest).
 *
 * Candidates are, like Tahoe, the first 2N writable servers in permuted order among the
 * connected allowed ones, plus every usable server that already holds shares, plus every
 * required writable server. Then Tahoe's three rounds (wire-formats §6.2) with a correct
 * bipartite graph: M1 read-only servers to shares they hold, M2 writable servers to
 * shares they hold, M3 fresh writable servers (required ones first) to the rest. Shares
 * left over go to the least-loaded writable candidate.
 */
export function placeShares(request: PlacementRequest): Placement {
  validatePlacementRequest(request);
  const { k, happy, n } = request;

  const slots: Slot[] = permutedOrder(request.storageIndex, request.servers).map((server, rank) => {
    const allowed = server.allowed ?? true;
    return {
      server,
      rank,
      state: stateOf(server, allowed),
      allowed,
      required: server.required ?? false,
      existing: [...new Set(server.existingShares ?? [])].sort((a, b) => a - b),
      candidate: false,
      newShares: new Set<number>(),
    };
  });

  let writableSeen = 0;
  for (const slot of slots) {
    if (!usable(slot)) continue;
    const writable = slot.state === "writable";
    const inWindow = writable && writableSeen < 2 * n;
    if (writable) writableSeen++;
    slot.candidate = inWindow || slot.existing.length > 0 || (slot.required && writable);
  }
  const candidates = slots.filter((slot) => slot.candidate);
  const writableCandidates = candidates.filter((slot) => slot.state === "writable");

  // M1 then M2: count existing shares first, read-only holders before writable ones,
  // because a read-only server can only ever be counted for a share it already has.
  const taken = new Set<number>();
  matchExisting(
    candidates.filter((slot) => slot.state === "read-only"),
    taken,
    n,
  );
  const matchedWritable = matchExisting(writableCandidates, taken, n);

  // M3: one fresh share per still-unmatched writable server. Required servers that hold
  // nothing go first so that they get a share while shares last.
  const fresh = writableCandidates.filter((slot) => !matchedWritable.has(slot));
  const needsShare = (slot: Slot): boolean => slot.required && slot.existing.length === 0;
  fresh.sort((a, b) => Number(needsShare(b)) - Number(needsShare(a)) || a.rank - b.rank);
  const remaining: number[] = [];
  for (let share = 0; share < n; share++) if (!taken.has(share)) remaining.push(share);
  const pairs = Math.min(fresh.length, remaining.length);
  for (let i = 0; i < pairs; i++) fresh[i]!.newShares.add(remaining[i]!);

  // Homeless shares: those no round placed. A share some candidate already holds is
  // stored (and renewed) where it is; the others go to the least-loaded writable server.
  const holders = new Int32Array(n);
  for (const slot of candidates) {
    for (const share of slot.existing) holders[share]!++;
    for (const share of slot.newShares) holders[share]!++;
  }
  const load = (slot: Slot): number => slot.existing.length + slot.newShares.size;
  for (const share of remaining.slice(pairs)) {
    if (holders[share]! > 0 || writableCandidates.length === 0) continue;
    let target = writableCandidates[0]!;
    for (const slot of writableCandidates) if (load(slot) < load(target)) target = slot;
    target.newShares.add(share);
    holders[share]!++;
  }

  // More required servers than shares: a required server still empty gets a copy of the
  // least-held share. Extra copies never lower happiness.
  for (const slot of writableCandidates) {
    if (!slot.required || load(slot) > 0) continue;
    let share = 0;
    for (let s = 1; s < n; s++) if (holders[s]! < holders[share]!) share = s;
    slot.newShares.add(share);
    holders[share]!++;
  }

  const adjacency = candidates.map((slot) => [...new Set([...slot.existing, ...slot.newShares])]);
  const matching = maximumMatching(adjacency, n);
  const matchedShare = new Map<Slot, number>();
  candidates.forEach((slot, i) => {
    const share = matching.leftMatch[i]!;
    if (share >= 0) matchedShare.set(slot, share);
  });
  const happiness = matching.size;
  const serversWithShares = adjacency.filter((shares) => shares.length > 0).length;
  const homelessShares: number[] = [];
  for (let share = 0; share < n; share++) if (holders[share] === 0) homelessShares.push(share);

  const refusals = refusalsFor(slots, { k, happy, happiness, serversWithShares });
  const servers: ServerPlan[] = slots.map((slot) => ({
    id: slot.server.id,
    nickname: slot.server.nickname,
    label: serverLabel(slot.server),
    rank: slot.rank,
    state: slot.state,
    allowed: slot.allowed,
    required: slot.required,
    candidate: slot.candidate,
    newShares: [...slot.newShares].sort((a, b) => a - b),
    keptShares: slot.candidate ? slot.existing : [],
    ignoredShares: usable(slot) ? [] : slot.existing,
    matchedShare: matchedShare.get(slot),
  }));
  return {
    ok: refusals.length === 0,
    happiness,
    k,
    happy,
    n,
    servers,
    serversWithShares,
    homelessShares,
    refusals,
  };
}

/**
 * Every reason the upload may not go ahead. Order: the user's required servers, then
 * Tahoe's below-happiness message, then the grid condition that explains it.
 */
function refusalsFor(
  slots: readonly Slot[],
  outcome: { k: number; happy: number; happiness: number; serversWithShares: number },
): PlacementRefusal[] {
  const { k, happy, happiness, serversWithShares } = outcome;
  const refusals: PlacementRefusal[] = [];
  const named = (slot: Slot) => slot.server;

  const notAllowed = slots.filter((slot) => slot.required && !slot.allowed).map(named);
  if (notAllowed.length > 0) refusals.push(requiredNotAllowed(notAllowed));
  const notConnected = slots.filter((slot) => slot.required && slot.state === "not-connected").map(named);
  if (notConnected.length > 0) refusals.push(requiredNotConnected(notConnected));
  const readOnly = slots
    .filter((slot) => slot.required && slot.state === "read-only" && slot.existing.length === 0)
    .map(named);
  if (readOnly.length > 0) refusals.push(requiredReadOnly(readOnly));

  if (happiness >= happy) return refusals;
  refusals.push(belowHappiness(serversWithShares, k, happy, happiness));

  const allowed = slots.filter((slot) => slot.allowed);
  const connected = slots.filter(usable);
  const writable = slots.filter((slot) => slot.state === "writable");
  if (slots.length === 0) {
    refusals.push(noServers());
  } else if (slots.length < happy) {
    // The grid itself is smaller than happy; Tahoe's message already says all there is.
  } else if (allowed.length < happy) {
    refusals.push(notEnoughAllowed(allowed.length, happy));
  } else if (connected.length < happy) {
    const disconnected = allowed.filter((slot) => slot.state === "not-connected").map(named);
    refusals.push(notEnoughConnected(connected.length, allowed.length, happy, disconnected));
  } else {
    const full = connected.filter((slot) => slot.state === "read-only").map(named);
    if (full.length > 0) refusals.push(notEnoughWritable(writable.length, connected.length, happy, full));
  }
  return refusals;
}
