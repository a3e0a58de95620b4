/**
 * Lease crawler benchmark (issue 18): how long one cycle over BUCKETS storage indexes takes
 * at the default pacing (10% busy), and what it does to `/version` answer times. Baseline:
 * the same server and shares with the crawler not started yet, measured in the same run.
 * Prints figures and ratios; never pass/fail.
 *
 *   pnpm --filter @lafs/storage-server exec tsx bench/lease-crawl.ts   (after `pnpm build`; BUCKETS=2000 by default)
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { base32Encode, createTlsIdentity } from "@lafs/crypto";

const { authorizationValue, createStorageServer } = await import(
  process.env.LAFS_BENCH_DIST ?? "../dist/index.js"
);

const BUCKETS = Number(process.env.BUCKETS ?? 2000);
const SAMPLE_MS = Number(process.env.SAMPLE_MS ?? 5000);
const SWISSNUM = "benchbenchbenchbenchbenchbench22";

/** An immutable v2 container: 12-byte header, `size` data bytes, one lease expiring at `expiration`. */
function container(size: number, expiration: number): Buffer {
  const out = Buffer.alloc(12 + size + 72);
  out.writeUInt32BE(2, 0);
  out.writeUInt32BE(size, 4);
  out.writeUInt32BE(1, 8);
  randomBytes(64).copy(out, 12 + size + 4);
  out.writeUInt32BE(expiration, 12 + size + 68);
  return out;
}

async function versionTimes(port: number, agent: Agent, ms: number, during?: () => boolean) {
  const times: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end && (during?.() ?? true)) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          path: "/storage/v1/version",
          agent,
          headers: { Authorization: authorizationValue(SWISSNUM), Accept: "application/cbor" },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve());
        },
      );
      req.on("error", reject);
      req.end();
    });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? Number.NaN;
  return { n: times.length, p50: at(0.5), p99: at(0.99), max: times.at(-1) ?? Number.NaN };
}

const root = await mkdtemp(join(tmpdir(), "lafs-bench-crawl-"));
const identity = createTlsIdentity({ commonName: "bench-crawl" });
const storageDir = join(root, "storage");
const expired = Math.floor(Date.now() / 1000) - 86400;
for (let i = 0; i < BUCKETS; i++) {
  const si = base32Encode(randomBytes(16));
  const dir = join(storageDir, "shares", si.slice(0, 2), si);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "0"), container(1000, expired));
}

const make = (startDelayMs: number) =>
  createStorageServer({
    storageDir,
    swissnum: SWISSNUM,
    writeEnablerNodeId: Buffer.alloc(20, 1),
    tls: { keyPem: identity.keyPem, certPem: identity.certPem },
    listen: [{ kind: "tcp", port: 0, interface: "127.0.0.1" }],
    expiry: { enabled: false, mode: "age", immutable: true, mutable: true },
    leaseCrawler: { startDelayMs },
  });

try {
  const idle = make(3_600_000);
  await idle.start();
  const agentA = new Agent({ keepAlive: true, rejectUnauthorized: false });
  const base = await versionTimes(idle.addresses()[0].port, agentA, SAMPLE_MS);
  agentA.destroy();
  await idle.stop();

  const busy = make(0);
  const started = performance.now();
  await busy.start();
  const agentB = new Agent({ keepAlive: true, rejectUnauthorized: false });
  const crawling = () => busy.status().leaseCrawler.history.length === 0;
  const during = await versionTimes(busy.addresses()[0].port, agentB, SAMPLE_MS, crawling);
  while (crawling()) await new Promise((r) => setTimeout(r, 50));
  const cycleMs = performance.now() - started;
  const s = busy.status().leaseCrawler;
  agentB.destroy();
  await busy.stop();

  const f = (x: number) => x.toFixed(2);
  // LAFS_BENCH_DIST may name a release from before Tahoe's categories (examined/wouldRemove).
  const t = s.history[0].tally;
  const examined = t.space?.examined.all.shares ?? t.examined.shares;
  const wouldRemove = t.space?.configured.all.shares ?? t.wouldRemove.shares;
  console.log(`lease crawler, ${BUCKETS} buckets (1 share each), default pacing, expire.enabled = false`);
  console.log(
    `cycle: ${(cycleMs / 1000).toFixed(1)} s, ${s.slices} slices, largest slice ${s.largestSliceOps} ops, examined ${examined}, would remove ${wouldRemove}`,
  );
  console.log(
    `/version idle:     n=${base.n} p50=${f(base.p50)} ms p99=${f(base.p99)} ms max=${f(base.max)} ms`,
  );
  console.log(
    `/version crawling: n=${during.n} p50=${f(during.p50)} ms p99=${f(during.p99)} ms max=${f(during.max)} ms`,
  );
  console.log(`ratio crawling/idle: p50 ${f(during.p50 / base.p50)}, p99 ${f(during.p99 / base.p99)}`);
} finally {
  await rm(root, { recursive: true, force: true });
}
