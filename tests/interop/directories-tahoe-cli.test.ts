import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tahoeOk } from "../support/local-grid.js";
import { findRefPeer } from "../support/refpeer.js";
import {
  allShareNumbers,
  type MixedGrid,
  type MixedGridStart,
  mutableShareCount,
  refTahoe,
  sharesOf,
  startMixedGrid,
  webClient,
} from "./support.js";

/**
 * Directories between lafs-ts and Tahoe-LAFS 1.20 on a grid with storage servers of both kinds
 * (two lafs-ts, two Tahoe: startMixedGrid), a Tahoe client and ours on it with k/happy/N =
 * 2/3/4, so every directory and file has shares on both kinds. A tree one CLI copies in
 * (`tahoe cp -r`, unicode names) is listed, fetched and copied out by the other CLI through its
 * own node, which reads the first one's dirnodes: SDMF (create-alias) and MDMF (mkdir
 * --format=mdmf) directories, and immutable directories (t=mkdir-immutable, URI:DIR2-CHK:).
 * Every file comes back byte-equal (sha256).
 */

const peer = findRefPeer("interop tests (directories between lafs-ts and Tahoe-LAFS)");
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** One implementation's `tahoe` command, run against its own node directory. */
interface Cli {
  name: string;
  dir: string;
  url: string;
  run(args: string[]): Promise<Buffer>;
}

const FILES: Record<string, Buffer> = {
  "one.txt": Buffer.from("one"),
  "sub/big.bin": randomBytes(90_000),
  "sub/déjà/vu.txt": Buffer.from("encore une fois"),
  "sub/déjà/日本語 🙂.txt": randomBytes(3000),
};

async function makeTree(at: string): Promise<void> {
  await mkdir(join(at, "sub", "déjà"), { recursive: true });
  for (const [name, bytes] of Object.entries(FILES)) await writeFile(join(at, name), bytes);
}

async function expectTree(at: string, who: string): Promise<void> {
  for (const [name, bytes] of Object.entries(FILES))
    expect(sha(await readFile(join(at, name))), `${who}: ${name}`).toBe(sha(bytes));
}

async function aliasCap(nodeDir: string, alias: string): Promise<string> {
  const line = (await readFile(join(nodeDir, "private", "aliases"), "utf8"))
    .split("\n")
    .find((l) => l.startsWith(`${alias}:`));
  return (line as string).slice(alias.length + 1).trim();
}

describe.skipIf(peer === undefined)(
  "directories between lafs-ts and Tahoe-LAFS on a grid of both kinds of server",
  { timeout: 180_000 },
  () => {
    const ref = peer!;
    let start: MixedGridStart | undefined;
    let mixed: MixedGrid | undefined;
    let work: string | undefined;
    let ours: Cli;
    let theirs: Cli;

    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), "lafs-interop-dirs-"));
      start = startMixedGrid(ref, { k: 2, happy: 3, n: 4 });
      mixed = await start.ready;
      const ourDir = mixed.client.dir;
      const theirDir = mixed.tahoeClient.dir;
      ours = {
        name: "lafs-ts",
        dir: ourDir,
        url: mixed.client.url,
        run: (a) => tahoeOk(["-d", ourDir, ...a]),
      };
      theirs = {
        name: "Tahoe",
        dir: theirDir,
        url: mixed.tahoeClient.url,
        run: (a) => refTahoe(ref.cli, ["-d", theirDir, ...a]),
      };
      await makeTree(join(work, "tree"));
    }, 180_000);

    afterAll(async () => {
      try {
        await start?.close();
      } finally {
        if (work !== undefined) await rm(work, { recursive: true, force: true });
      }
    }, 180_000);

    const pair = (builder: string): [Cli, Cli] => (builder === "lafs-ts" ? [ours, theirs] : [theirs, ours]);

    /** The reader lists, gets and copies out the tree at DIRCAP/tree, byte for byte. */
    async function readTree(reader: Cli, cap: string, out: string): Promise<void> {
      expect((await reader.run(["ls", `${cap}/tree`])).toString()).toBe("one.txt\nsub\n");
      expect((await reader.run(["ls", `${cap}/tree/sub`])).toString()).toBe("big.bin\ndéjà\n");
      expect((await reader.run(["ls", `${cap}/tree/sub/déjà`])).toString()).toBe("vu.txt\n日本語 🙂.txt\n");
      expect((await reader.run(["get", `${cap}/tree/sub/déjà/vu.txt`])).toString()).toBe("encore une fois");
      await mkdir(out);
      await reader.run(["cp", "-r", `${cap}/tree`, out]);
      await expectTree(join(out, "tree"), `${reader.name} cp -r`);
    }

    async function expectSharesOnBothKinds(cap: string): Promise<void> {
      expect(
        await mutableShareCount(cap, mixed!.ourStorageDirs),
        `${cap}: on lafs-ts servers`,
      ).toBeGreaterThan(0);
      expect(
        await mutableShareCount(cap, mixed!.tahoe.storageDirs),
        `${cap}: on Tahoe servers`,
      ).toBeGreaterThan(0);
    }

    for (const builder of ["lafs-ts", "Tahoe"]) {
      it(`an SDMF alias tree the ${builder} CLI built is read by the other's ls, get and cp -r`, async () => {
        const [maker, reader] = pair(builder);
        const alias = `sdmf-${builder.toLowerCase()}`;
        await maker.run(["create-alias", alias]);
        await maker.run(["cp", "-r", join(work!, "tree"), `${alias}:`]);
        const cap = await aliasCap(maker.dir, alias);
        expect(cap).toMatch(/^URI:DIR2:/);
        await expectSharesOnBothKinds(cap);
        // The aliases file format is shared: the reader takes the maker's line as its own.
        await reader.run(["add-alias", alias, cap]);
        expect((await reader.run(["ls", `${alias}:tree`])).toString()).toBe("one.txt\nsub\n");
        await readTree(reader, cap, join(work!, `out-sdmf-${builder}`));
      });

      it(`an MDMF directory the ${builder} CLI made (mkdir --format=mdmf) is read by the other`, async () => {
        const [maker, reader] = pair(builder);
        const cap = (await maker.run(["mkdir", "--format=mdmf"])).toString().trim();
        expect(cap).toMatch(/^URI:DIR2-MDMF:/);
        await maker.run(["cp", "-r", join(work!, "tree"), cap]);
        await expectSharesOnBothKinds(cap);
        await readTree(reader, cap, join(work!, `out-mdmf-${builder}`));
      });

      it(`an immutable directory (DIR2-CHK) the ${builder} node made is read by the other's CLI`, async () => {
        const [maker, reader] = pair(builder);
        const web = webClient(`${maker.name} client`, maker.url);
        const big = FILES["sub/big.bin"] as Buffer;
        const unicode = FILES["sub/déjà/日本語 🙂.txt"] as Buffer;
        const children = {
          "big.bin": ["filenode", { ro_uri: await web.put(big) }],
          "déjà 🙂.txt": ["filenode", { ro_uri: await web.put(unicode) }],
          "tiny.txt": ["filenode", { ro_uri: await web.put(Buffer.from("lit")) }],
        };
        const res = await fetch(new URL("uri?t=mkdir-immutable", web.url), {
          method: "POST",
          body: JSON.stringify(children),
        });
        const cap = (await res.text()).trim();
        expect(res.status, cap).toBe(200);
        expect(cap).toMatch(/^URI:DIR2-CHK:/);
        const onOurs = allShareNumbers(await sharesOf(`URI:CHK:${cap.slice(13)}`, mixed!.ourStorageDirs));
        const onTheirs = allShareNumbers(
          await sharesOf(`URI:CHK:${cap.slice(13)}`, mixed!.tahoe.storageDirs),
        );
        expect(onOurs.length, "dirnode shares on lafs-ts servers").toBeGreaterThan(0);
        expect(onTheirs.length, "dirnode shares on Tahoe servers").toBeGreaterThan(0);
        expect([...onOurs, ...onTheirs].sort()).toEqual([0, 1, 2, 3]);

        expect((await reader.run(["ls", cap])).toString()).toBe("big.bin\ndéjà 🙂.txt\ntiny.txt\n");
        expect(sha(await reader.run(["get", `${cap}/big.bin`]))).toBe(sha(big));
        expect(sha(await reader.run(["get", `${cap}/déjà 🙂.txt`]))).toBe(sha(unicode));
        expect((await reader.run(["get", `${cap}/tiny.txt`])).toString()).toBe("lit");
        const json = JSON.parse((await reader.run(["ls", "--json", cap])).toString());
        expect(json).toMatchObject(["dirnode", { mutable: false, ro_uri: cap }]);
        expect(json[1].verify_uri).toMatch(/^URI:DIR2-CHK-Verifier:/);
        expect(Object.keys(json[1].children).sort()).toEqual(["big.bin", "déjà 🙂.txt", "tiny.txt"]);
      });
    }

    it("Tahoe's own CLI works against our node's web API: mkdir, put, ls -l, get, cp -r, manifest, mv, unlink", async () => {
      const url = ours.url;
      const tahoe = (args: string[]) => theirs.run([args[0]!, "-u", url, ...args.slice(1)]);
      const dir = (await tahoe(["mkdir"])).toString().trim();
      expect(dir).toMatch(/^URI:DIR2:/);
      const file = join(work!, "tree", "sub", "big.bin");
      await tahoe(["put", file, `${dir}/x/big.bin`]);
      expect((await tahoe(["ls", `${dir}/x`])).toString()).toBe("big.bin\n");
      expect((await tahoe(["ls", "-l", `${dir}/x`])).toString()).toMatch(/^-r-- 90000 .+ big\.bin\n$/);
      expect(sha(await tahoe(["get", `${dir}/x/big.bin`]))).toBe(sha(FILES["sub/big.bin"] as Buffer));
      await tahoe(["cp", "-r", join(work!, "tree"), `${dir}/`]);
      const out = join(work!, "tahoe-via-ours");
      await mkdir(out);
      await tahoe(["cp", "-r", `${dir}/tree`, out]);
      await expectTree(join(out, "tree"), "Tahoe cp -r through our node");
      const manifest = (await tahoe(["manifest", `${dir}/tree`])).toString();
      expect(manifest).toContain(" sub/déjà/vu.txt\n");
      await tahoe(["mv", `${dir}/x/big.bin`, `${dir}/moved.bin`]);
      await tahoe(["unlink", `${dir}/moved.bin`]);
      expect((await tahoe(["ls", dir])).toString()).toBe("tree\nx\n");
    });
  },
);
