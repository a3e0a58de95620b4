/**
 * The directory page of a large directory (issue 21): the time to render the listing of N
 * children (every sort key, both directions) and the page's size. The page is built whole on
 * each GET, so this is the node's cost per view. Prints figures, never pass/fail.
 * Run: pnpm --filter @lafs/web bench (WEB_BENCH_ENTRIES=1000 by default).
 */
import { randomBytes } from "node:crypto";
import { base32Encode } from "@lafs/crypto";
import { directoryPage } from "../src/directory-page.js";
import { SORT_KEYS } from "../src/directory-view.js";
import type { WebDirectory, WebDirectoryEntry } from "../src/web-node.js";
import { memoryStatus } from "../test/memory-node.js";

const COUNT = Number(process.env.WEB_BENCH_ENTRIES ?? 1000);
const PASSES = 5;

const chk = (i: number) =>
  `URI:CHK:${base32Encode(randomBytes(16))}:${base32Encode(randomBytes(32))}:3:10:${1000 + i * 37}`;
const entries: WebDirectoryEntry[] = Array.from({ length: COUNT }, (_, i) => ({
  name: `file-${String((i * 7919) % COUNT).padStart(5, "0")}-naïve.${["txt", "pdf", "bin", "png"][i % 4]}`,
  readCap: chk(i),
  metadata: { tahoe: { linkcrtime: 1796602817 + i, linkmotime: 1796602817 + ((i * 13) % COUNT) } },
  kind: "filenode",
}));
const dir = {
  cap: `URI:DIR2:${base32Encode(randomBytes(16))}:${base32Encode(randomBytes(32))}`,
  readCap: `URI:DIR2-RO:${base32Encode(randomBytes(16))}:${base32Encode(randomBytes(32))}`,
  verifyCap: undefined,
  writable: true,
  format: "SDMF",
} as unknown as WebDirectory;
const status = memoryStatus();

console.log(`directory page, ${COUNT} children, best of ${PASSES}:`);
for (const key of SORT_KEYS) {
  for (const descending of [false, true]) {
    let best = Number.POSITIVE_INFINITY;
    let bytes = 0;
    for (let i = 0; i < PASSES; i++) {
      const t = process.hrtime.bigint();
      const page = directoryPage({
        status,
        place: { rootCap: dir.cap, path: [] },
        dir,
        entries,
        query: {},
        sort: { key, descending },
      });
      best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e6);
      bytes = Buffer.byteLength(page);
    }
    console.log(`  sort=${descending ? "-" : ""}${key}: ${best.toFixed(1)} ms, ${(bytes / 1024).toFixed(0)} KiB`);
  }
}
