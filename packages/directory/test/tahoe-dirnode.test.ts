import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { base32Encode } from "@lafs/crypto";
import { describe, expect, it } from "vitest";
import {
  type DirectoryEntry,
  packDirectory,
  parseDirectoryCap,
  readOnlyDirectoryCap,
  updateMetadata,
} from "../src/index.js";

/**
 * Tahoe-LAFS 1.20's own dirnode.py (the reference build named by TAHOE_REF_DIR, as the interop
 * tests find it) unpacks directories we packed: as writer, as read-only holder, and immutable;
 * and its pack_children of what it read gives our bytes back. Skipped without TAHOE_REF_DIR
 * outside CI, as tests/interop does.
 */
const REF = process.env.TAHOE_REF_DIR;
const PYTHON = REF === undefined || REF === "" ? undefined : join(REF, "venv/bin/python");
if (
  PYTHON === undefined &&
  process.env.CI !== undefined &&
  process.env.CI !== "" &&
  process.env.CI !== "false"
) {
  throw new Error(
    "CI is set but TAHOE_REF_DIR is not: the Tahoe dirnode interop test needs the reference Tahoe-LAFS",
  );
}
if (PYTHON !== undefined && !existsSync(PYTHON))
  throw new Error(`TAHOE_REF_DIR=${REF} holds no venv/bin/python`);

interface TahoeView {
  children: Record<
    string,
    { rw_uri: string | null; ro_uri: string | null; metadata: Record<string, unknown> }
  >;
  repacked_b64: string;
}

function tahoeReads(cap: string, packed: Uint8Array): Promise<TahoeView> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      PYTHON!,
      [join(import.meta.dirname, "tahoe-dirnode.py")],
      { timeout: 60_000, maxBuffer: 16 * 2 ** 20 },
      (error, stdout, stderr) =>
        error === null
          ? resolve(JSON.parse(stdout) as TahoeView)
          : reject(new Error(`${error.message}\n${stderr}`)),
    );
    child.stdin!.end(JSON.stringify({ cap, packed_b64: Buffer.from(packed).toString("base64") }));
  });
}

const JAPANESE = "日本語";
const DIRCAP = "URI:DIR2:ad5wtml26s7jjv4gfwlrs2653e:hx7zlqd7fp44i6ky6lfrrwcqxslkg6gd6x7moxt4kxkqvm5d6r5a";
const CHK =
  "URI:CHK:bircf5g5zyuos37zp6mrtfor24:wymlsfnbkhcdxruagriarsiosgkxomzc6dunwzajcscwtonphnyq:2:4:1024";
const LIT = "URI:LIT:nbswy3dpfqqgy2lumvzgc3bao5xxe3debi";
const SSK = "URI:SSK:l43byqsidupuz4k4kzskysj4hy:fnacy4ixivqrmptbpd5tvybb3uhkha6zxucyj57ovqbiof7dvcqa";
const SSK_RO = "URI:SSK-RO:eiy4irl2ob7oa4fssqhzmj4pam:fnacy4ixivqrmptbpd5tvybb3uhkha6zxucyj57ovqbiof7dvcqa";
const SUBDIR =
  "URI:DIR2-MDMF:l43byqsidupuz4k4kzskysj4hy:fnacy4ixivqrmptbpd5tvybb3uhkha6zxucyj57ovqbiof7dvcqa";
const SUBDIR_RO =
  "URI:DIR2-MDMF-RO:eiy4irl2ob7oa4fssqhzmj4pam:fnacy4ixivqrmptbpd5tvybb3uhkha6zxucyj57ovqbiof7dvcqa";

describe.skipIf(PYTHON === undefined)(
  "Tahoe-LAFS's dirnode.py reads directories @lafs/directory packed",
  () => {
    const linked = updateMetadata(
      undefined,
      { mtime: 1796602816.0650024, st_mode: 33188 },
      1796602817.2427616,
    );
    const relinked = updateMetadata(linked, undefined, 1796602818.5);
    const children: DirectoryEntry[] = [
      { name: "file.txt", readCap: CHK, metadata: linked, kind: "filenode" },
      { name: "naïve café ☕.txt".normalize("NFD"), readCap: LIT, metadata: relinked, kind: "filenode" },
      { name: JAPANESE, writeCap: SUBDIR, readCap: SUBDIR_RO, metadata: {}, kind: "dirnode" },
      {
        name: "notes",
        writeCap: SSK,
        metadata: { custom: "x", tahoe: { linkcrtime: 1, linkmotime: 2 } },
        kind: "filenode",
      },
      { name: "future", writeCap: "x-future:rw", readCap: "x-future:ro", metadata: {}, kind: "unknown" },
      { name: "frozen", readCap: "URI:DIR2-LIT:", metadata: {}, kind: "dirnode" },
    ];
    const writekey = parseDirectoryCap(DIRCAP).writekey!;

    it("as the writer: every child, cap and metadata, and pack_children gives our bytes back", async () => {
      const packed = packDirectory(children, writekey);
      const tahoe = await tahoeReads(DIRCAP, packed);
      expect(Object.keys(tahoe.children).sort()).toEqual(children.map((c) => c.name.normalize("NFC")).sort());
      expect(tahoe.children["naïve café ☕.txt"]).toEqual({ rw_uri: null, ro_uri: LIT, metadata: relinked });
      expect(tahoe.children[JAPANESE]).toEqual({ rw_uri: SUBDIR, ro_uri: SUBDIR_RO, metadata: {} });
      expect(tahoe.children.notes).toEqual({ rw_uri: SSK, ro_uri: SSK_RO, metadata: children[3]!.metadata });
      expect(tahoe.children.future).toEqual({
        rw_uri: "x-future:rw",
        ro_uri: "ro.x-future:ro",
        metadata: {},
      });
      expect(tahoe.children["file.txt"]?.metadata).toEqual({
        mtime: 1796602816.0650024,
        st_mode: 33188,
        tahoe: { linkcrtime: 1796602817.2427616, linkmotime: 1796602817.2427616 },
      });
      expect(tahoe.repacked_b64).toBe(Buffer.from(packed).toString("base64"));
    });

    it("as a read-only holder: no write caps", async () => {
      const packed = packDirectory(children, writekey);
      const tahoe = await tahoeReads(readOnlyDirectoryCap(parseDirectoryCap(DIRCAP))!, packed);
      for (const child of Object.values(tahoe.children)) expect(child.rw_uri).toBeNull();
      expect(tahoe.children.notes?.ro_uri).toBe(SSK_RO);
    });

    it("an immutable directory", async () => {
      const frozen = children.filter(
        (c) => c.readCap === CHK || c.readCap === LIT || c.readCap === "URI:DIR2-LIT:",
      );
      const packed = packDirectory(frozen, undefined, { deepImmutable: true });
      // Only the cap's kind matters to unpacking; the contents are given here, not fetched.
      const cap = `URI:DIR2-CHK:${base32Encode(new Uint8Array(16))}:${base32Encode(new Uint8Array(32))}:3:10:${packed.length}`;
      const tahoe = await tahoeReads(cap, packed);
      expect(Object.keys(tahoe.children).sort()).toEqual(frozen.map((c) => c.name.normalize("NFC")).sort());
      expect(tahoe.repacked_b64).toBe(Buffer.from(packed).toString("base64"));
    });
  },
);
