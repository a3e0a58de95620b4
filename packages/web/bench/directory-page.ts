/**
 * The directory page of a large directory (issue 21): the time to render the listing of N
 * children (every sort key, both directions) and the page's size, against the same directory's
 * `?t=json` (Tahoe's JSON, what a program asks for) measured in the same run. The page is built
 * whole on each GET, so this is the node's cost per view. Prints figures, never pass/fail.
 * Run: pnpm --filter @lafs/web bench (WEB_BENCH_ENTRIES=1000 by default).
 */
import { randomBytes } from "node:crypto";
import { base32Encode } from "@lafs/crypto";
import { directoryJson, pythonJson } from "../src/directory-json.js";
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

/** The fastest of PASSES runs, in ms, and the size of what it made. */
function best(render: () => string): { ms: number; bytes: number } {
  let ms = Number.POSITIVE_INFINITY;
  let bytes = 0;
  for (let i = 0; i < PASSES; i++) {
    const t = process.hrtime.bigint();
    const out = render();
    ms = Math.min(ms, Number(process.hrtime.bigint() - t) / 1e6);
    bytes = Buffer.byteLength(out);
  }
  return { ms, bytes };
}

const json = best(() => pythonJson(directoryJson(dir, entries)));
console.log(`${COUNT} children, best of ${PASSES}`);
console.log(`  baseline ?t=json: ${json.ms.toFixed(1)} ms, ${(json.bytes / 1024).toFixed(0)} KiB`);
for (const key of SORT_KEYS) {
  for (const descending of [false, true]) {
    const sort = { key, descending };
    const html = best(() =>
      directoryPage({ status, place: { rootCap: dir.cap, path: [] }, dir, entries, query: {}, sort }),
    );
    console.log(
      `  page sort=${descending ? "-" : ""}${key}: ${html.ms.toFixed(1)} ms (${(html.ms / json.ms).toFixed(2)}x the JSON), ${(html.bytes / 1024).toFixed(0)} KiB (${(html.bytes / json.bytes).toFixed(2)}x)`,
    );
  }
}
