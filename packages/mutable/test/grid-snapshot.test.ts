import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { base32Decode, base32Encode } from "@lafs/crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  decodeMutableVersion,
  formatMutableCap,
  parseMutableCap,
  storageIndexOfCap,
  writeEnablerFor,
  writeEnablerMasterOf,
} from "../src/index.js";

const SNAPSHOT = join(import.meta.dirname, "../../../../shared/vectors/tahoe-grid-snapshot");
const CONTAINER_HEADER = 468;

interface Entry {
  path: string;
  kind: string;
  mutable: boolean;
  rw_uri: string | null;
  ro_uri: string | null;
  size?: number;
  sha256?: string;
}

interface Server {
  name: string;
  tubid: string;
  shares_tarball: string;
}

/** A directory cap names the SDMF/MDMF file that stores it: swap the prefix back. */
function fileCapOf(cap: string): string {
  return cap
    .replace(/^URI:DIR2-MDMF(-RO|-Verifier)?:/, "URI:MDMF$1:")
    .replace(/^URI:DIR2(-RO|-Verifier)?:/, "URI:SSK$1:");
}

describe("the real Tahoe grid snapshot: every mutable file and directory decodes", () => {
  const manifest = JSON.parse(readFileSync(join(SNAPSHOT, "manifest.json"), "utf8")) as { entries: Entry[] };
  const servers = JSON.parse(readFileSync(join(SNAPSHOT, "servers.json"), "utf8")) as Server[];
  let root = "";

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "lafs-mutable-snapshot-"));
    for (const server of servers) {
      const dir = join(root, server.name);
      mkdirSync(dir, { recursive: true });
      execFileSync("tar", ["xzf", join(SNAPSHOT, server.shares_tarball), "-C", dir]);
    }
  });
  afterAll(() => {
    if (root !== "") rmSync(root, { recursive: true, force: true });
  });

  /** Every server's shares of one slot, the container header stripped; checks the header. */
  function sharesOf(si: string, writekey: Uint8Array | undefined): Map<number, Uint8Array> {
    const shares = new Map<number, Uint8Array>();
    for (const server of servers) {
      const dir = join(root, server.name, "shares", si.slice(0, 2), si);
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir)) {
        const container = readFileSync(join(dir, name));
        expect(container.subarray(0, 26).toString()).toBe("Tahoe mutable container v2");
        const tubid = base32Decode(server.tubid);
        expect(base32Encode(container.subarray(32, 52))).toBe(server.tubid);
        if (writekey !== undefined) {
          // The write enabler the creating client sent is the one we derive.
          const we = writeEnablerFor(writeEnablerMasterOf(writekey), tubid);
          expect(
            Buffer.from(container.subarray(52, 84)).equals(Buffer.from(we)),
            `${si}/${name} write enabler`,
          ).toBe(true);
        }
        const length = Number(container.readBigUInt64BE(84));
        shares.set(Number(name), container.subarray(CONTAINER_HEADER, CONTAINER_HEADER + length));
      }
    }
    return shares;
  }

  const mutables = manifest.entries.filter(
    (e) => e.mutable && (e.rw_uri ?? e.ro_uri ?? "").match(/^URI:(SSK|MDMF|DIR2)/) !== null,
  );

  it("lists SDMF and MDMF files and directories", () => {
    expect(mutables.filter((e) => e.kind === "filenode").length).toBeGreaterThanOrEqual(5);
    expect(mutables.filter((e) => e.kind === "dirnode").length).toBeGreaterThanOrEqual(5);
  });

  for (const entry of mutables) {
    it(`${entry.kind} ${JSON.stringify(entry.path)}`, () => {
      const text = fileCapOf((entry.rw_uri ?? entry.ro_uri)!);
      const cap = parseMutableCap(text);
      expect(formatMutableCap(cap)).toBe(text);
      const si = base32Encode(storageIndexOfCap(cap));
      const shares = sharesOf(si, cap.kind === "write" ? cap.writekey : undefined);
      expect(shares.size).toBeGreaterThanOrEqual(2);
      const read = decodeMutableVersion(cap, shares);
      expect(read.corrupt).toEqual([]);
      if (entry.kind === "filenode") {
        expect(read.plaintext.length).toBe(entry.size);
        expect(createHash("sha256").update(read.plaintext).digest("hex")).toBe(entry.sha256);
      }
    });
  }
});
