import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findRefPeer } from "../support/refpeer.js";
import {
  fileOf,
  type MixedGrid,
  type MixedGridStart,
  mutableShareCount,
  SEGMENT,
  startMixedGrid,
  summary,
} from "./support.js";

/**
 * Mutable files (SDMF and MDMF) between lafs-ts and Tahoe-LAFS 1.20 on one grid with storage
 * servers of both kinds: two lafs-ts storage nodes and two Tahoe storage nodes, one servers.yaml
 * naming all four, and a client of each kind with k/N = 2/4, so every version has a share on
 * each server. A file one client makes is read, overwritten and (MDMF) updated in place by the
 * other, and each client reads what the other wrote.
 */

const peer = findRefPeer("interop tests (mutable files on a mixed lafs-ts and Tahoe grid)");

interface MutableClient {
  name: string;
  create(bytes: Uint8Array, format: "SDMF" | "MDMF"): Promise<string>;
  /** PUT /uri/WRITECAP, with ?offset= when given. */
  write(cap: string, bytes: Uint8Array, offset?: number): Promise<void>;
  read(cap: string): Promise<Buffer>;
  json(cap: string): Promise<Record<string, unknown>>;
}

function mutableClient(name: string, url: string): MutableClient {
  const base = url.endsWith("/") ? url : `${url}/`;
  const fail = async (what: string, res: Response) =>
    new Error(`${name}: ${what} answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
  return {
    name,
    async create(bytes, format) {
      const res = await fetch(new URL(`uri?format=${format}`, base), { method: "PUT", body: bytes });
      if (res.status !== 200) throw await fail(`PUT /uri?format=${format}`, res);
      return (await res.text()).trim();
    },
    async write(cap, bytes, offset) {
      const query = offset === undefined ? "" : `?offset=${offset}`;
      const res = await fetch(new URL(`uri/${encodeURIComponent(cap)}${query}`, base), {
        method: "PUT",
        body: bytes,
      });
      if (res.status !== 200) throw await fail(`PUT /uri/CAP${query}`, res);
      expect((await res.text()).trim(), `${name} answers the write cap`).toBe(cap);
    },
    async read(cap) {
      const res = await fetch(new URL(`uri/${encodeURIComponent(cap)}`, base));
      if (res.status !== 200) throw await fail("GET /uri/CAP", res);
      return Buffer.from(await res.arrayBuffer());
    },
    async json(cap) {
      const res = await fetch(new URL(`uri/${encodeURIComponent(cap)}?t=json`, base));
      if (res.status !== 200) throw await fail("GET /uri/CAP?t=json", res);
      return ((await res.json()) as [string, Record<string, unknown>])[1];
    },
  };
}

describe.skipIf(peer === undefined)("mutable files between lafs-ts and Tahoe-LAFS on a mixed grid", () => {
  const ref = peer!;
  let start: MixedGridStart | undefined;
  let mixed: MixedGrid | undefined;
  let ours: MutableClient;
  let theirs: MutableClient;

  beforeAll(async () => {
    start = startMixedGrid(ref, { k: 2, happy: 3, n: 4 });
    mixed = await start.ready;
    theirs = mutableClient("Tahoe client", mixed.tahoeClient.url);
    ours = mutableClient("lafs-ts client", mixed.client.url);
  }, 180_000);

  afterAll(() => start?.close(), 180_000);

  const SIZES = { SDMF: 5000, MDMF: 2 * SEGMENT + 12_345 } as const;

  for (const format of ["SDMF", "MDMF"] as const) {
    for (const direction of ["lafs-ts", "Tahoe"] as const) {
      it(`${format} made by the ${direction} client is read and rewritten by the other`, async () => {
        const [maker, other] = direction === "lafs-ts" ? [ours, theirs] : [theirs, ours];
        const first = fileOf(SIZES[format], `m-${format}-${direction}-1`);
        const cap = await maker.create(first, format);
        expect(cap).toMatch(format === "SDMF" ? /^URI:SSK:/ : /^URI:MDMF:/);
        expect(summary(await other.read(cap)), `${other.name} reads ${maker.name}'s file`).toBe(
          summary(first),
        );
        expect(await other.json(cap)).toMatchObject({
          mutable: true,
          format,
          size: first.length,
          rw_uri: cap,
        });
        expect(
          await mutableShareCount(cap, mixed!.ourStorageDirs),
          "shares on lafs-ts servers",
        ).toBeGreaterThan(0);
        expect(
          await mutableShareCount(cap, mixed!.tahoe.storageDirs),
          "shares on Tahoe servers",
        ).toBeGreaterThan(0);

        // The other client overwrites; the maker reads the new version, then overwrites it back.
        const second = fileOf(SIZES[format] + 777, `m-${format}-${direction}-2`);
        await other.write(cap, second);
        expect(summary(await maker.read(cap)), `${maker.name} reads ${other.name}'s overwrite`).toBe(
          summary(second),
        );
        const third = fileOf(SIZES[format] - 333, `m-${format}-${direction}-3`);
        await maker.write(cap, third);
        expect(summary(await other.read(cap)), `${other.name} reads ${maker.name}'s overwrite`).toBe(
          summary(third),
        );

        // In place at an offset (MDMF: only the touched segments; SDMF: rewritten whole, as Tahoe).
        const patch = fileOf(1000, `m-${format}-${direction}-patch`);
        const offset = format === "MDMF" ? SEGMENT + 100 : 100;
        await other.write(cap, patch, offset);
        const expected = Buffer.from(third);
        patch.copy(expected, offset);
        expect(summary(await maker.read(cap)), `${maker.name} reads ${other.name}'s update`).toBe(
          summary(expected),
        );
        const tail = fileOf(500, `m-${format}-${direction}-tail`);
        await maker.write(cap, tail, expected.length);
        const appended = Buffer.concat([expected, tail]);
        expect(summary(await other.read(cap)), `${other.name} reads ${maker.name}'s append`).toBe(
          summary(appended),
        );
        expect(await other.json(cap)).toMatchObject({ size: appended.length });
      }, 120_000);
    }
  }
});
