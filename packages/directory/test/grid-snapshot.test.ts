import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { base32Decode } from "@lafs/crypto";
import { openDownload, openMutableFile } from "@lafs/storage-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DirectoryEntry,
  type DirectoryGridOptions,
  openDirectory,
  packDirectory,
  parseDirectoryCap,
  resolvePath,
  unpackDirectory,
} from "../src/index.js";
import { startTestGrid, type TestGrid } from "./grid.js";
import { VECTORS } from "./vectors.js";

/** Read from ../shared/vectors beside the repository, never copied into it. */
const SNAPSHOT = join(VECTORS, "tahoe-grid-snapshot");

interface ManifestEntry {
  path: string;
  kind: "dirnode" | "filenode";
  rw_uri: string | null;
  ro_uri: string | null;
  mutable: boolean;
  metadata?: Record<string, unknown>;
  size?: number;
  sha256?: string;
}

interface SnapshotServer {
  name: string;
  server_id: string;
  permutation_seed_bytes_b64: string;
  tubid: string;
  shares_tarball: string;
}

async function json<T>(name: string): Promise<T> {
  return JSON.parse(await readFile(join(SNAPSHOT, name), "utf8")) as T;
}

function sha(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

describe("the real Tahoe grid snapshot, walked from its root dircap through @lafs/directory", () => {
  let grid: TestGrid | undefined;
  let o: DirectoryGridOptions;
  let manifest: { root_dircap: string; entries: ManifestEntry[] };
  /** Every path found by the walk, with its entry and its parent's cap. */
  const walked = new Map<string, { entry: DirectoryEntry; parentCap: string }>();

  beforeAll(async () => {
    manifest = await json("manifest.json");
    const servers = await json<SnapshotServer[]>("servers.json");
    const client = await json<Record<string, unknown>>("client.json");
    grid = await startTestGrid(
      servers.length,
      servers.map((s) => ({
        id: s.server_id,
        permutationSeed: new Uint8Array(Buffer.from(s.permutation_seed_bytes_b64, "base64")),
        leaseSeed: base32Decode(s.tubid),
        // Tahoe's layout is ours: BASEDIR/storage/shares/<2>/<SI>/<shnum>.
        dir: async (storageDir: string) => {
          await mkdir(storageDir, { recursive: true });
          execFileSync("tar", ["xzf", join(SNAPSHOT, s.shares_tarball), "-C", storageDir]);
        },
      })),
    );
    o = {
      servers: grid.servers,
      leaseSecret: base32Decode(String(client.lease_secret_base32)),
      k: 2,
      happy: 3,
      n: 4,
    };
    const walk = async (cap: string, prefix: string) => {
      const dir = await openDirectory({ ...o, cap });
      const { entries, problems } = await dir.read();
      expect(problems).toEqual([]);
      for (const entry of entries) {
        const path = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
        walked.set(path, { entry, parentCap: cap });
        if (entry.kind === "dirnode") await walk(entry.writeCap ?? entry.readCap!, path);
      }
    };
    await walk(manifest.root_dircap, "");
  });
  afterAll(async () => {
    await grid?.close();
  });

  it("finds every path of the manifest, unicode names included, and nothing else", () => {
    const expected = manifest.entries.map((e) => e.path).filter((p) => p !== "");
    expect([...walked.keys()].sort()).toEqual(expected.sort());
    expect(walked.has("Ünïcödé-dir/naïve café ☕.txt")).toBe(true);
    expect(walked.has("docs/deep/日本語ファイル.txt")).toBe(true);
  });

  it("lists each child with the manifest's caps, kind, mutability and metadata", () => {
    for (const m of manifest.entries) {
      if (m.path === "") continue;
      const { entry } = walked.get(m.path)!;
      expect({ path: m.path, rw: entry.writeCap ?? null, ro: entry.readCap ?? null }).toEqual({
        path: m.path,
        rw: m.rw_uri,
        ro: m.ro_uri,
      });
      expect(entry.kind).toBe(m.kind);
      expect(entry.mutable).toBe(m.mutable);
      if (m.metadata !== undefined) expect(entry.metadata).toEqual(m.metadata);
    }
  });

  it("reads every file with the manifest's size and sha256", async () => {
    const files = manifest.entries.filter((e) => e.kind === "filenode");
    expect(files.length).toBeGreaterThan(20);
    for (const m of files) {
      const cap = m.ro_uri!;
      const data = m.mutable
        ? await (await openMutableFile({ ...o, cap })).readAll()
        : await (await openDownload(cap, o.servers)).readAll();
      expect({ path: m.path, size: data.length, sha256: sha(data) }).toEqual({
        path: m.path,
        size: m.size,
        sha256: m.sha256,
      });
    }
  });

  it("repacks every directory Tahoe wrote to the same bytes, also from a copy of the metadata", async () => {
    const dirs = manifest.entries.filter(
      (e) => e.kind === "dirnode" && !(e.ro_uri ?? "").startsWith("URI:DIR2-LIT:"),
    );
    for (const m of dirs) {
      const cap = parseDirectoryCap(m.rw_uri ?? m.ro_uri!);
      const plaintext = cap.mutable
        ? await (await openMutableFile({ ...o, cap: cap.fileCap })).readAll()
        : await (await openDownload(cap.fileCap, o.servers)).readAll();
      const { entries, problems } = unpackDirectory(plaintext, cap, m.path);
      expect(problems).toEqual([]);
      const opts = { deepImmutable: !cap.mutable };
      expect(Buffer.from(packDirectory(entries, cap.writekey, opts)).equals(Buffer.from(plaintext))).toBe(
        true,
      );
      // Metadata that did not come from the directory is written as Python's json.dumps writes it.
      const copies = entries.map((e) => ({ ...e, metadata: structuredClone(e.metadata) }));
      expect(Buffer.from(packDirectory(copies, cap.writekey, opts)).toString("latin1")).toBe(
        Buffer.from(plaintext).toString("latin1"),
      );
    }
  });

  it("resolvePath finds a unicode path given in NFD", async () => {
    const found = await resolvePath({
      ...o,
      rootCap: manifest.root_dircap,
      path: ["Ünïcödé-dir".normalize("NFD"), "Åström-é.txt".normalize("NFD")],
    });
    expect(found.entry.readCap).toBe(
      manifest.entries.find((e) => e.path === "Ünïcödé-dir/Åström-é.txt")!.ro_uri,
    );
  });
});
