import { html, type SafeHtml } from "./html.js";

/** Bucket, share and byte counts (Tahoe's lease checker: sharebytes, and diskbytes as st_blocks * 512). */
export interface WebSpaceCounts {
  buckets: number;
  shares: number;
  sharebytes: number;
  diskbytes: number;
}

/** One category over all shares and by kind. */
export interface WebShareTally {
  all: WebSpaceCounts;
  mutable: WebSpaceCounts;
  immutable: WebSpaceCounts;
}

const CATEGORIES = ["examined", "original", "configured", "actual"] as const;
type Category = (typeof CATEGORIES)[number];

/** Tahoe's space-recovered categories: looked at; gone under 31-day leases; under expire.*; removed. */
export type WebSpaceRecovered = Record<Category, WebShareTally>;

export interface WebCrawlerTally {
  space: WebSpaceRecovered;
  corrupt: { count: number; list: { storageIndex: string; shareNumber: number; problem: string }[] };
  leasesPerShare: Record<string, number>;
  /** Leases by whole days since their last renewal; the last key also counts older ones. */
  leaseAgeDays: Record<string, number>;
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
  /** Tahoe's estimated-remaining-cycle / estimated-current-cycle; absent before an estimate can be made. */
  estimatedRemaining?: WebSpaceRecovered;
  estimatedCycle?: WebSpaceRecovered;
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

const DAY_SECONDS = 86_400;
/** Lease-age histogram keys at or past this also count every older lease (the crawler's bound). */
const LEASE_AGE_DAYS_KEPT = 3650;

/** Tahoe's flat space-recovered dictionary ("examined-buckets", "actual-diskbytes-mutable", ...); null where unknown. */
function spaceRecoveredJson(space: WebSpaceRecovered | undefined): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const a of CATEGORIES) {
    for (const b of ["buckets", "shares", "sharebytes", "diskbytes"] as const) {
      out[`${a}-${b}`] = space?.[a].all[b] ?? null;
      out[`${a}-${b}-mutable`] = space?.[a].mutable[b] ?? null;
      out[`${a}-${b}-immutable`] = space?.[a].immutable[b] ?? null;
    }
  }
  return out;
}

/** Tahoe's lease-age-histogram: [min age, max age, count] in seconds; the last open-ended bucket has max null. */
function leaseAgeHistogramJson(days: Record<string, number>): [number, number | null, number][] {
  return Object.entries(days)
    .map(([d, count]) => [Number(d), count] as const)
    .sort((x, y) => x[0] - y[0])
    .map(([d, count]) => [d * DAY_SECONDS, d >= LEASE_AGE_DAYS_KEPT ? null : (d + 1) * DAY_SECONDS, count]);
}

function sharetypes(p: WebLeaseCrawler["policy"]): string[] {
  return [...(p.immutable ? ["immutable"] : []), ...(p.mutable ? ["mutable"] : [])];
}

/** Tahoe's cycle-to-date or history entry, with our damaged-share count and problems beside its list. */
function cycleJson(t: WebCrawlerTally, p: WebLeaseCrawler["policy"]) {
  return {
    "expiration-enabled": p.enabled,
    "configured-expiration-mode": [
      p.mode,
      p.overrideLeaseDurationSeconds ?? null,
      p.cutoffDateSeconds ?? null,
      sharetypes(p),
    ],
    "lease-age-histogram": leaseAgeHistogramJson(t.leaseAgeDays),
    "leases-per-share-histogram": { ...t.leasesPerShare },
    "corrupt-shares": t.corrupt.list.map((c) => [c.storageIndex, c.shareNumber]),
    "corrupt-shares-count": t.corrupt.count,
    "corrupt-share-problems": t.corrupt.list.map((c) => c.problem),
    "space-recovered": spaceRecoveredJson(t.space),
  };
}

/**
 * `/?t=json`'s storage.lease_checker: our summary (times in seconds, as the rest of the page)
 * and Tahoe's lease checker state (storage/expirer.py get_state): cycle-to-date and the two
 * estimates while a cycle runs, and the history by cycle number. Recorded cycles keep the
 * policy in force now (the crawler does not store the one of each cycle).
 */
export function leaseCrawlerJson(c: WebLeaseCrawler) {
  const crawling = c.state === "crawling";
  return {
    expiration_enabled: c.policy.enabled,
    mode: c.policy.mode,
    override_lease_duration: c.policy.overrideLeaseDurationSeconds ?? null,
    cutoff_date: c.policy.cutoffDateSeconds ?? null,
    sharetypes: sharetypes(c.policy),
    state: c.state,
    cycle: c.cycle,
    cycle_started: c.cycleStartedAt === undefined ? null : c.cycleStartedAt / 1000,
    progress: c.progress,
    next_cycle: c.nextCycleAt === undefined ? null : c.nextCycleAt / 1000,
    problem: c.problem ?? null,
    ...(crawling
      ? {
          "cycle-to-date": cycleJson(c.cycleToDate, c.policy),
          "estimated-remaining-cycle": { "space-recovered": spaceRecoveredJson(c.estimatedRemaining) },
          "estimated-current-cycle": { "space-recovered": spaceRecoveredJson(c.estimatedCycle) },
        }
      : {}),
    history: Object.fromEntries(
      c.history.map((h) => [
        String(h.cycle),
        {
          "cycle-start-finish-times": [h.startedAt / 1000, h.finishedAt / 1000],
          ...cycleJson(h.tally, c.policy),
        },
      ]),
    ),
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

/** Tahoe's format_recovered: "N shares, N buckets (N mutable / N immutable), SIZE (SIZE / SIZE)"; "?" where unknown. */
function recovered(space: WebSpaceRecovered | undefined, a: Category, size: Space): string {
  const n = (v: number | undefined) => (v === undefined ? "?" : String(Math.trunc(v)));
  const bytes = (v: number | undefined) => (v === undefined ? "?" : size(Math.round(v)));
  const t = space?.[a];
  return `${n(t?.all.shares)} shares, ${n(t?.all.buckets)} buckets (${n(t?.mutable.buckets)} mutable / ${n(t?.immutable.buckets)} immutable), ${bytes(t?.all.diskbytes)} (${bytes(t?.mutable.diskbytes)} / ${bytes(t?.immutable.diskbytes)})`;
}

function corruptItem(t: WebCrawlerTally): SafeHtml | string {
  if (t.corrupt.count === 0) return "";
  const more = t.corrupt.count - t.corrupt.list.length;
  return html`<li>Corrupt shares (left alone):<ul>${t.corrupt.list.map((c) => html`<li>SI <code>${c.storageIndex}</code> shnum ${c.shareNumber} (${c.problem})</li>`)}${more > 0 ? html`<li>and ${more} more</li>` : ""}</ul></li>`;
}

function leaseAgeItem(t: WebCrawlerTally): SafeHtml | string {
  const entries = Object.entries(t.leaseAgeDays).sort((x, y) => Number(x[0]) - Number(y[0]));
  if (entries.length === 0) return "";
  const words = entries.map(([d, n]) => `${Number(d) >= LEASE_AGE_DAYS_KEPT ? `${d}+` : d}: ${n}`).join(", ");
  return html`<li class="lease-age-histogram">Leases by days since their last renewal: ${words}</li>`;
}

/** Tahoe's "Current cycle:" list (web/storage.py render_lease_current_cycle_results). */
function currentCycle(c: WebLeaseCrawler, size: Space): SafeHtml {
  const t = c.cycleToDate;
  const sr = t.space;
  const [er, ec] = [c.estimatedRemaining, c.estimatedCycle];
  const n = (v: number | undefined) => (v === undefined ? "?" : String(Math.trunc(v)));
  const outlook = c.policy.enabled
    ? html`<li>The remainder of this cycle is expected to recover: ${recovered(er, "actual", size)}</li>
<li>The whole cycle is expected to examine ${n(ec?.examined.all.shares)} shares in ${n(ec?.examined.all.buckets)} buckets</li>
<li>and to recover: ${recovered(ec, "actual", size)}</li>`
    : html`<li>If expiration were enabled, we would have recovered: ${recovered(sr, "configured", size)} by now</li>
<li>and the remainder of this cycle would probably recover: ${recovered(er, "configured", size)}</li>
<li>and the whole cycle would probably recover: ${recovered(ec, "configured", size)}</li>`;
  return html`<h4>Current cycle:</h4><ul id="lease-current-cycle">
<li>So far, this cycle has examined ${sr.examined.all.shares} shares in ${sr.examined.all.buckets} buckets (${sr.examined.mutable.buckets} mutable / ${sr.examined.immutable.buckets} immutable) (${size(sr.examined.mutable.diskbytes)} / ${size(sr.examined.immutable.diskbytes)})</li>
<li>and has recovered: ${recovered(sr, "actual", size)}</li>
${outlook}
<li>if we were strictly using each lease's default 31-day lease lifetime (instead of our configured behavior), this cycle would be expected to recover: ${recovered(ec, "original", size)}</li>
${leaseAgeItem(t)}${corruptItem(t)}</ul>`;
}

/** Tahoe's "Last complete cycle" lines (render_lease_last_cycle_results). */
function lastCycle(c: WebLeaseCrawler, now: number, ago: Ago, size: Space): SafeHtml | string {
  const last = c.history[0];
  if (last === undefined) return "";
  const took = ago(last.startedAt, last.finishedAt).replace(/ ago$/, "");
  const sr = last.tally.space;
  return html`<h4>Last cycle (${last.cycle})</h4><p id="lease-last-cycle">Last complete cycle (which took ${took} and finished ${ago(last.finishedAt, now)}) recovered: ${recovered(sr, "actual", size)}</p>
<ul><li>and saw a total of ${recovered(sr, "examined", size)}</li>
${c.policy.enabled ? "" : html`<li>but expiration was not enabled. If it had been, it would have recovered: ${recovered(sr, "configured", size)}</li>`}
${leaseAgeItem(last.tally)}${corruptItem(last.tally)}</ul>`;
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
  return html`<h3>Lease expiry</h3>
${headline}
<p id="lease-crawler-state">${where}${c.problem ? html` <span role="alert">Last problem: ${c.problem}</span>` : ""}</p>
${c.state === "crawling" ? currentCycle(c, space) : ""}
${lastCycle(c, now, ago, space)}`;
}

/** The newest corruption advisories, for the operator to look at the shares they name. */
export function advisoryTable(recent: WebAdvisory[], now: number, ago: Ago): SafeHtml | string {
  if (recent.length === 0) return "";
  return html`<table id="corruption-advisory-list"><tr><th>Received</th><th>Storage index</th><th>Share</th><th>Kind</th><th>Reason</th><th>File</th></tr>
${recent.map((a) => html`<tr><td>${ago(a.receivedAt, now)}</td><td><code>${a.storageIndex}</code></td><td>${a.shareNumber}</td><td>${a.kind}</td><td>${a.reason}</td><td><code>${a.file}</code></td></tr>`)}
</table>`;
}
