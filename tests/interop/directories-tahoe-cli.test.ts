import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Grid, startGrid, tahoeOk } from "../support/local-grid.js";
import { exportServers, findRefPeer, startRefStaticClient, stopRef } from "../support/refpeer.js";
import { convergenceOf, refTahoe } from "./support.js";

/**
 * Directories between lafs-ts and Tahoe-LAFS 1.20: three lafs-ts storage nodes, our client and a
 * Tahoe client on them (k/happy/N = 2/2/3). A tree our CLI copies in (`tahoe cp -r`, unicode
 * names) is listed, fetched and copied out by Tahoe's own `tahoe ls/get/cp -r` through Tahoe's
 * node, which reads our dirnodes; and a tree Tahoe's CLI builds is read back by ours through our
 * node, byte for byte.
 */

const peer = findRefPeer("interop tests (directories between lafs-ts and Tahoe-LAFS)");
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe.skipIf(peer === undefined)(
  "directories between lafs-ts and Tahoe-LAFS",
  { timeout: 120_000 },
  () => {
    const ref = peer!;
    let grid: Grid | undefined;
    let root: string | undefined;
    let theirDir: string;
    const files: Record<string, Buffer> = {
      "one.txt": Buffer.from("one"),
      "sub/big.bin": randomBytes(90_000),
      "sub/déjà/vu.txt": Buffer.from("encore une fois"),
    };

    async function makeTree(at: string): Promise<void> {
      await mkdir(join(at, "sub", "déjà"), { recursive: true });
      for (const [name, bytes] of Object.entries(files)) await writeFile(join(at, name), bytes);
    }

    async function expectTree(at: string): Promise<void> {
      for (const [name, bytes] of Object.entries(files))
        expect(sha(await readFile(join(at, name))), name).toBe(sha(bytes));
    }

    const aliasCap = async (nodeDir: string, alias: string) => {
      const line = (await readFile(join(nodeDir, "private", "aliases"), "utf8"))
        .split("\n")
        .find((l) => l.startsWith(`${alias}:`));
      return (line as string).slice(alias.length + 1).trim();
    };

    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), "lafs-interop-dirs-"));
      grid = await startGrid({ storage: ["s1", "s2", "s3"], k: 2, happy: 2, n: 3 });
      const serversYaml = join(root, "servers.yaml");
      await exportServers(
        ref,
        serversYaml,
        ["s1", "s2", "s3"].map((n) => grid!.dirs[n]!),
      );
      theirDir = join(root, "tahoe-client");
      await startRefStaticClient(ref, theirDir, serversYaml, {
        k: 2,
        happy: 2,
        n: 3,
        convergence: await convergenceOf(grid.dirs.client!),
      });
    }, 120_000);

    afterAll(async () => {
      try {
        if (root !== undefined) await stopRef(ref, join(root, "tahoe-client"));
      } finally {
        await grid?.close();
        if (root !== undefined) await rm(root, { recursive: true, force: true });
      }
    }, 60_000);

    it("Tahoe's ls, get and cp -r read a tree our CLI built", async () => {
      const ours = grid!.dirs.client!;
      await makeTree(join(root!, "tree"));
      await tahoeOk(["-d", ours, "create-alias", "ours"]);
      await tahoeOk(["-d", ours, "cp", "-r", join(root!, "tree"), "ours:"]);
      const cap = await aliasCap(ours, "ours");
      expect((await refTahoe(ref.cli, ["-d", theirDir, "ls", `${cap}/tree`])).toString()).toBe(
        "one.txt\nsub\n",
      );
      expect((await refTahoe(ref.cli, ["-d", theirDir, "ls", `${cap}/tree/sub`])).toString()).toBe(
        "big.bin\ndéjà\n",
      );
      const vu = await refTahoe(ref.cli, ["-d", theirDir, "get", `${cap}/tree/sub/déjà/vu.txt`]);
      expect(vu.toString()).toBe("encore une fois");
      const out = join(root!, "tahoe-out");
      await mkdir(out);
      await refTahoe(ref.cli, ["-d", theirDir, "cp", "-r", `${cap}/tree`, out]);
      await expectTree(join(out, "tree"));
    });

    it("our ls, get and cp -r read a tree Tahoe's CLI built", async () => {
      await makeTree(join(root!, "tree2"));
      await refTahoe(ref.cli, ["-d", theirDir, "create-alias", "theirs"]);
      await refTahoe(ref.cli, ["-d", theirDir, "cp", "-r", join(root!, "tree2"), "theirs:"]);
      const cap = await aliasCap(theirDir, "theirs");
      const ours = grid!.dirs.client!;
      // Their aliases file is ours to read too: the format is shared.
      await tahoeOk(["-d", ours, "add-alias", "theirs", cap]);
      expect((await tahoeOk(["-d", ours, "ls", "theirs:tree2"])).toString()).toBe("one.txt\nsub\n");
      expect((await tahoeOk(["-d", ours, "get", "theirs:tree2/sub/déjà/vu.txt"])).toString()).toBe(
        "encore une fois",
      );
      const out = join(root!, "our-out");
      await mkdir(out);
      await tahoeOk(["-d", ours, "cp", "-r", "theirs:tree2", out]);
      await expectTree(join(out, "tree2"));
    });

    it("Tahoe's own CLI works against our node's web API: mkdir, put, ls -l, get, cp -r, manifest, mv, unlink", async () => {
      const url = grid!.nodeUrl;
      const dir = (await refTahoe(ref.cli, ["-d", theirDir, "mkdir", "-u", url])).toString().trim();
      expect(dir).toMatch(/^URI:DIR2:/);
      const file = join(root!, "tree", "sub", "big.bin");
      await refTahoe(ref.cli, ["-d", theirDir, "put", "-u", url, file, `${dir}/x/big.bin`]);
      expect((await refTahoe(ref.cli, ["-d", theirDir, "ls", "-u", url, `${dir}/x`])).toString()).toBe(
        "big.bin\n",
      );
      expect(
        (await refTahoe(ref.cli, ["-d", theirDir, "ls", "-l", "-u", url, `${dir}/x`])).toString(),
      ).toMatch(/^-r-- 90000 .+ big\.bin\n$/);
      expect(sha(await refTahoe(ref.cli, ["-d", theirDir, "get", "-u", url, `${dir}/x/big.bin`]))).toBe(
        sha(files["sub/big.bin"] as Buffer),
      );
      await refTahoe(ref.cli, ["-d", theirDir, "cp", "-r", "-u", url, join(root!, "tree"), `${dir}/`]);
      const out = join(root!, "tahoe-via-ours");
      await mkdir(out);
      await refTahoe(ref.cli, ["-d", theirDir, "cp", "-r", "-u", url, `${dir}/tree`, out]);
      await expectTree(join(out, "tree"));
      const manifest = (
        await refTahoe(ref.cli, ["-d", theirDir, "manifest", "-u", url, `${dir}/tree`])
      ).toString();
      expect(manifest).toContain(" sub/déjà/vu.txt\n");
      await refTahoe(ref.cli, ["-d", theirDir, "mv", "-u", url, `${dir}/x/big.bin`, `${dir}/moved.bin`]);
      await refTahoe(ref.cli, ["-d", theirDir, "unlink", "-u", url, `${dir}/moved.bin`]);
      expect((await refTahoe(ref.cli, ["-d", theirDir, "ls", "-u", url, dir])).toString()).toBe("tree\nx\n");
    });
  },
);
