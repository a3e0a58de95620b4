import { open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findRefPeer } from "../support/refpeer.js";
import {
  FILES,
  fileOf,
  type GridStart,
  type OurGridWithTahoeClient,
  startOurGridWithTahoeClient,
  type WebClient,
} from "./support.js";

/**
 * A real Tahoe-LAFS 1.20 client renews its leases on lafs-ts storage servers: its
 * `t=check&add-lease=true` (what `tahoe check --add-lease` and `deep-check --add-lease` send)
 * reaches our `PUT /storage/v1/lease/:si`, and every share it placed, immutable and mutable,
 * has its lease moved on (the same client's renew secret, so renewed rather than added).
 */

const peer = findRefPeer("interop tests (Tahoe add-lease on lafs-ts storage servers)");
const STORAGE = ["s1", "s2", "s3"];

/** Every share file's lease expirations (seconds), by path: immutable and mutable containers. */
async function leasesOnDisk(storageDirs: string[]): Promise<Map<string, number[]>> {
  const found = new Map<string, number[]>();
  for (const dir of storageDirs) {
    const shares = join(dir, "storage", "shares");
    for (const prefix of await readdir(shares).catch(() => [] as string[])) {
      if (prefix === "incoming") continue;
      for (const si of await readdir(join(shares, prefix))) {
        for (const shnum of await readdir(join(shares, prefix, si))) {
          const path = join(shares, prefix, si, shnum);
          const fh = await open(path, "r");
          try {
            const bytes = await fh.readFile();
            if (bytes.subarray(0, 25).toString("latin1") === "Tahoe mutable container v") {
              const slots = [0, 1, 2, 3]
                .map((i) => bytes.readUInt32BE(100 + i * 92 + 4))
                .filter((e) => e !== 0);
              found.set(path, slots);
            } else {
              const count = bytes.readUInt32BE(8);
              const first = bytes.length - count * 72;
              found.set(
                path,
                Array.from({ length: count }, (_, i) => bytes.readUInt32BE(first + i * 72 + 68)),
              );
            }
          } finally {
            await fh.close();
          }
        }
      }
    }
  }
  return found;
}

describe.skipIf(peer === undefined)("a Tahoe-LAFS client's add-lease on lafs-ts storage servers", () => {
  const ref = peer!;
  let theirs: WebClient;
  let storageDirs: string[];
  let start: GridStart<OurGridWithTahoeClient> | undefined;

  beforeAll(async () => {
    start = startOurGridWithTahoeClient(ref, { storage: STORAGE, k: 2, happy: 3, n: 3 });
    ({ theirs, storageDirs } = await start.ready);
  }, 120_000);

  afterAll(() => start?.close(), 180_000);

  it("renews the lease of every share of a CHK and an SDMF file", async () => {
    const chk = await theirs.put(fileOf(FILES.small, "lease-chk"));
    const sdmfAnswer = await fetch(new URL("uri?format=SDMF", theirs.url), {
      method: "PUT",
      body: fileOf(2000, "lease-sdmf"),
    });
    const sdmf = (await sdmfAnswer.text()).trim();
    expect(sdmfAnswer.status, sdmf).toBe(200);
    expect(sdmf).toMatch(/^URI:SSK:/);
    const before = await leasesOnDisk(storageDirs);
    expect(before.size).toBe(6);
    for (const expirations of before.values()) expect(expirations).toHaveLength(1);

    // Expirations are whole seconds: let at least one pass.
    await new Promise((r) => setTimeout(r, 2100));
    for (const cap of [chk, sdmf]) {
      const res = await fetch(
        new URL(`uri/${encodeURIComponent(cap)}?t=check&add-lease=true&output=JSON`, theirs.url),
        { method: "POST" },
      );
      const text = await res.text();
      expect(res.status, text).toBe(200);
      expect(JSON.parse(text).results.healthy, text).toBe(true);
    }
    const after = await leasesOnDisk(storageDirs);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [path, expirations] of after) {
      expect(expirations, path).toHaveLength(1);
      expect(expirations[0]!, path).toBeGreaterThanOrEqual(before.get(path)![0]! + 2);
    }
  }, 120_000);
});
