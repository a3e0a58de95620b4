import { html, type SafeHtml } from "./html.js";

/** Share, bucket and byte counts of one category of the lease crawler's tally. */
export interface WebShareTally {
  buckets: number;
  shares: number;
  bytes: number;
  immutableShares: number;
  mutableShares: number;
}

export interface WebCrawlerTally {
  examined: WebShareTally;
  /** What the configured expiry would remove, even with expire.enabled = false. */
  wouldRemove: WebShareTally;
  removed: WebShareTally;
  corrupt: { count: number; list: { storageIndex: string; shareNumber: number; problem: string }[] };
  leasesPerShare: Record<string, number>;
}

/** The storage server's lease crawler (expiry), as @lafs/storage-server reports it. */
export interface WebLeaseCrawler {
  policy: {
    enabled: boolean;
    mode: "age" | "cutoff-date";
    overrideLeaseDurationSeconds?: number;
    cutoffDateSeconds?: number;
    immutable: boolean;
    mutable: boolean;
  };
  state: "starting" | "crawling" | "waiting" | "stopped";
  cycle: number;
  cycleStartedAt?: number;
  progress: number;
  cycleToDate: WebCrawlerTally;
  nextCycleAt?: number;
  history: { cycle: number; startedAt: number; finishedAt: number; tally: WebCrawlerTally }[];
  problem?: string;
}

/** One corruption advisory a client sent this node's storage server. */
export interface WebAdvisory {
  file: string;
  kind: string;
  storageIndex: string;
  shareNumber: number;
  reason: string;
  /** ms since the epoch. */
  receivedAt: number;
}

type Ago = (then: number | undefined, now: number) => string;
type Space = (bytes: number | undefined) => string;

function tallyJson(t: WebCrawlerTally) {
  const counts = (s: WebShareTally) => ({
    buckets: s.buckets,
    shares: s.shares,
    bytes: s.bytes,
    immutable_shares: s.immutableShares,
    mutable_shares: s.mutableShares,
  });
  return {
    examined: counts(t.examined),
    would_remove: counts(t.wouldRemove),
    removed: counts(t.removed),
    corrupt_shares: {
      count: t.corrupt.count,
      list: t.corrupt.list.map((c) => ({
        storage_index: c.storageIndex,
        share_number: c.shareNumber,
        problem: c.problem,
      })),
    },
    leases_per_share_histogram: { ...t.leasesPerShare },
  };
}

/** `/?t=json`'s storage.lease_checker (times in seconds, as the rest of the page). */
export function leaseCrawlerJson(c: WebLeaseCrawler) {
  return {
    expiration_enabled: c.policy.enabled,
    mode: c.policy.mode,
    override_lease_duration: c.policy.overrideLeaseDurationSeconds ?? null,
    cutoff_date: c.policy.cutoffDateSeconds ?? null,
    sharetypes: [...(c.policy.immutable ? ["immutable"] : []), ...(c.policy.mutable ? ["mutable"] : [])],
    state: c.state,
    cycle: c.cycle,
    cycle_started: c.cycleStartedAt === undefined ? null : c.cycleStartedAt / 1000,
    progress: c.progress,
    cycle_to_date: tallyJson(c.cycleToDate),
    next_cycle: c.nextCycleAt === undefined ? null : c.nextCycleAt / 1000,
    history: c.history.map((h) => ({
      cycle: h.cycle,
      started: h.startedAt / 1000,
      finished: h.finishedAt / 1000,
      ...tallyJson(h.tally),
    })),
    problem: c.problem ?? null,
  };
}

export function advisoriesJson(recent: WebAdvisory[]) {
  return recent.map((a) => ({
    file: a.file,
    type: a.kind,
    storage_index: a.storageIndex,
    share_number: a.shareNumber,
    reason: a.reason,
    received: a.receivedAt / 1000,
  }));
}

function policyText(p: WebLeaseCrawler["policy"]): string {
  const which = [p.immutable ? "immutable" : "", p.mutable ? "mutable" : ""].filter(Boolean).join(" and ");
  const rule =
    p.mode === "cutoff-date"
      ? `leases last renewed before ${new Date((p.cutoffDateSeconds ?? 0) * 1000).toISOString().slice(0, 10)} expire`
      : p.overrideLeaseDurationSeconds === undefined
        ? "leases expire 31 days after their last renewal"
        : `leases expire ${Math.round(p.overrideLeaseDurationSeconds / 86400)} days after their last renewal`;
  if (which === "") return `${rule}, but expiry applies to no kind of share`;
  return `${rule}; expiry applies to ${which} shares`;
}

function tallyRows(t: WebCrawlerTally, enabled: boolean, space: Space): SafeHtml {
  const row = (label: string, s: WebShareTally) =>
    html`<tr><th>${label}</th><td>${s.buckets}</td><td>${s.shares} (${s.immutableShares} immutable, ${s.mutableShares} mutable)</td><td>${space(s.bytes)}</td></tr>`;
  return html`<table class="lease-tally"><tr><th></th><th>Buckets</th><th>Shares</th><th>Size</th></tr>
${row("Examined", t.examined)}
${row(enabled ? "Expired" : "Would remove", t.wouldRemove)}
${row("Removed", t.removed)}
</table>${t.corrupt.count > 0 ? html`<p>${t.corrupt.count} share file${t.corrupt.count === 1 ? "" : "s"} could not be read and ${t.corrupt.count === 1 ? "was" : "were"} left alone: ${t.corrupt.list.map((c, i) => html`${i > 0 ? "; " : ""}<code>${c.storageIndex}</code> share ${c.shareNumber} (${c.problem})`)}.</p>` : ""}`;
}

/** The lease crawler's lines on the welcome page: the policy, this cycle so far, and the last cycle. */
export function leaseCrawlerSection(c: WebLeaseCrawler, now: number, ago: Ago, space: Space): SafeHtml {
  const p = c.policy;
  const headline = p.enabled
    ? html`<p id="lease-expiry">Lease expiry is on: ${policyText(p)}. Shares whose leases have all expired are removed.</p>`
    : html`<p id="lease-expiry">Lease expiry is off (<code>[storage]expire.enabled = false</code>): nothing is removed. The crawler counts what ${policyText(p)} would remove.</p>`;
  const where =
    c.state === "crawling"
      ? `Cycle ${c.cycle}: ${(c.progress * 100).toFixed(1)}% done, started ${ago(c.cycleStartedAt, now)}.`
      : c.state === "waiting"
        ? `Waiting for the next cycle (${c.nextCycleAt === undefined ? "soon" : new Date(c.nextCycleAt).toISOString()}).`
        : c.state === "starting"
          ? "The first cycle begins a few minutes after start."
          : "Stopped.";
  const last = c.history[0];
  return html`<h3>Lease expiry</h3>
${headline}
<p id="lease-crawler-state">${where}${c.problem ? html` <span role="alert">Last problem: ${c.problem}</span>` : ""}</p>
${c.state === "crawling" ? html`<h4>This cycle so far</h4>${tallyRows(c.cycleToDate, p.enabled, space)}` : ""}
${last === undefined ? "" : html`<h4>Last cycle (${last.cycle}), finished ${ago(last.finishedAt, now)}</h4>${tallyRows(last.tally, p.enabled, space)}`}`;
}

/** The newest corruption advisories, for the operator to look at the shares they name. */
export function advisoryTable(recent: WebAdvisory[], now: number, ago: Ago): SafeHtml | string {
  if (recent.length === 0) return "";
  return html`<table id="corruption-advisory-list"><tr><th>Received</th><th>Storage index</th><th>Share</th><th>Kind</th><th>Reason</th><th>File</th></tr>
${recent.map((a) => html`<tr><td>${ago(a.receivedAt, now)}</td><td><code>${a.storageIndex}</code></td><td>${a.shareNumber}</td><td>${a.kind}</td><td>${a.reason}</td><td><code>${a.file}</code></td></tr>`)}
</table>`;
}
