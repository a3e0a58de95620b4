/**
 * A directory of 1,000 entries (issue 17): pack and unpack in memory, then on 5 real storage
 * servers on 127.0.0.1 (3-of-5) the time to list it and to add one entry (a whole modify:
 * servermap, read, repack, test-and-set publish), SDMF and MDMF. Prints figures, never
 * pass/fail. Run: pnpm --filter @lafs/directory bench (DIRECTORY_BENCH_ENTRIES=1000 by default).
 */
import { randomBytes } from "node:crypto";
import { base32Encode } from "@lafs/crypto";
import {
  createDirectory,
  type DirectoryEntry,
  openDirectory,
  packDirectory,
  unpackDirectory,
} from "../src/index.js";
import { startTestGrid } from "../test/grid.js";

const COUNT = Number(process.env.DIRECTORY_BENCH_ENTRIES ?? 1000);
const PASSES = 3;

async function best(run: () => unknown | Promise<unknown>): Promise<number> {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < PASSES; i++) {
    const t = process.hrtime.bigint();
    await run();
    min = Math.min(min, Number(process.hrtime.bigint() - t) / 1e6);
  }
  return min;
}

function chk(i: number): string {
  return `URI:CHK:${base32Encode(randomBytes(16))}:${base32Encode(randomBytes(32))}:3:10:${1000 + i}`;
}

const children: DirectoryEntry[] = Array.from({ length: COUNT }, (_, i) => ({
  name: `file-${String(i).padStart(5, "0")}-naïve.txt`,
  readCap: chk(i),
  metadata: { tahoe: { linkcrtime: 1796602817.2427616 + i, linkmotime: 1796602817.2427616 + i } },
  kind: "filenode",
}));
const writekey = randomBytes(16);
const dircap = "URI:DIR2:ad5wtml26s7jjv4gfwlrs2653e:hx7zlqd7fp44i6ky6lfrrwcqxslkg6gd6x7moxt4kxkqvm5d6r5a";

const packed = packDirectory(children, writekey);
const tPack = await best(() => packDirectory(children, writekey));
const tUnpack = await best(() => unpackDirectory(packed, dircap));
console.log(
  `${COUNT} entries: packed ${packed.length} bytes; pack ${tPack.toFixed(1)} ms, unpack ${tUnpack.toFixed(1)} ms (in memory, best of ${PASSES})`,
);

const grid = await startTestGrid(5);
try {
  const o = { servers: grid.servers, leaseSecret: randomBytes(32), k: 3, happy: 4, n: 5 };
  for (const format of ["SDMF", "MDMF"] as const) {
    const made = await createDirectory({ ...o, format, children });
    const dir = await openDirectory({ ...o, cap: made.writeCap });
    const tList = await best(async () => {
      if ((await dir.list()).length < COUNT) throw new Error("short listing");
    });
    let n = 0;
    const tAdd = await best(() => dir.set(`added-${n++}`, { readCap: chk(n) }));
    console.log(
      `${format}, ${COUNT} entries on 5 local servers (3-of-5): list ${tList.toFixed(0)} ms, add one entry ${tAdd.toFixed(0)} ms (best of ${PASSES})`,
    );
  }
} finally {
  await grid.close();
}
