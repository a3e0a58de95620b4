import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { base32Decode, base32Encode, createTlsIdentity } from "@lafs/crypto";
import { createStorageServer, type StorageServer } from "@lafs/storage-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createStorageClient,
  type MutableGridOptions,
  openMutableFile,
  overwriteMutableFile,
  type UploadServer,
  updateMutableFile,
} from "../src/index.js";
import { testBytes } from "./uploader-grid.js";

/** Read from ../shared/vectors beside the repository, never copied into it. */
const SNAPSHOT = join(import.meta.dirname, "../../../../shared/vectors/tahoe-grid-snapshot");

interface Entry {
  path: string;
  kind: string;
  mutable: boolean;
  rw_uri: string | null;
  ro_uri: string | null;
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

function sha(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** A directory cap names the SDMF/MDMF file that stores it. */
function fileCapOf(cap: string): string {
  return cap.replace(/^URI:DIR2-MDMF(-RO)?:/, "URI:MDMF$1:").replace(/^URI:DIR2(-RO)?:/, "URI:SSK$1:");
}

describe("the real Tahoe grid snapshot, served by our storage servers, read through openMutableFile", () => {
  const manifest = JSON.parse(readFileSync(join(SNAPSHOT, "manifest.json"), "utf8")) as { entries: Entry[] };
  const snapshotServers = JSON.parse(
    readFileSync(join(SNAPSHOT, "servers.json"), "utf8"),
  ) as SnapshotServer[];
  const client = JSON.parse(readFileSync(join(SNAPSHOT, "client.json"), "utf8")) as Record<string, unknown>;
  let root = "";
  const servers: StorageServer[] = [];
  let grid: UploadServer[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "lafs-mutable-snapshot-"));
    const identity = createTlsIdentity({ commonName: "snapshot" });
    for (const s of snapshotServers) {
      // Tahoe's layout is ours: BASEDIR/storage/shares/<2>/<SI>/<shnum>.
      const storageDir = join(root, s.name, "storage");
      mkdirSync(storageDir, { recursive: true });
      execFileSync("tar", ["xzf", join(SNAPSHOT, s.shares_tarball), "-C", storageDir]);
      const swissnum = base32Encode(randomBytes(20));
      const server = createStorageServer({
        storageDir,
        swissnum,
        writeEnablerNodeId: base32Decode(s.tubid),
        applicationVersion: "lafs-ts/test",
        tls: { keyPem: identity.keyPem, certPem: identity.certPem },
        listen: [{ kind: "tcp", port: 0, interface: "127.0.0.1" }],
      });
      servers.push(server);
      await server.start();
      const port = server.addresses()[0]!.port;
      grid.push({
        id: s.server_id,
        nickname: s.name,
        permutationSeed: new Uint8Array(Buffer.from(s.permutation_seed_bytes_b64, "base64")),
        leaseSeed: base32Decode(s.tubid),
        client: createStorageClient({ nurl: `pb://${identity.spkiHash}@127.0.0.1:${port}/${swissnum}#v=1` }),
        connected: true,
      });
    }
  });
  afterAll(async () => {
    for (const s of grid) await s.client.close();
    for (const s of servers) await s.stop();
    if (root !== "") rmSync(root, { recursive: true, force: true });
    grid = [];
  });

  const options = (): MutableGridOptions => ({
    servers: grid,
    // The snapshot client's own lease secret, so leases renew as Tahoe's would.
    leaseSecret: leaseSecretOf(client),
    k: 2,
    happy: 3,
    n: 4,
  });

  const files = manifest.entries.filter((e) => e.mutable && e.kind === "filenode");

  it("lists the snapshot's mutable files", () => {
    expect(files.map((e) => e.path).sort()).toEqual([
      "docs/mdmf-small.txt",
      "docs/sdmf.txt",
      "mdmf-big.bin",
      "mdmf-readonly-link",
      "sdmf-empty.txt",
      "sdmf-hardlink.txt",
    ]);
  });

  it.each(files.map((e) => [e.path, e] as const))(
    "%s reads back with the manifest's sha256",
    async (_, entry) => {
      for (const cap of [entry.rw_uri, entry.ro_uri]) {
        if (cap === null) continue;
        const file = await openMutableFile({ ...options(), cap });
        expect(file.size).toBe(entry.size);
        expect([file.k, file.n]).toEqual([2, 4]);
        expect(sha(await file.readAll())).toBe(entry.sha256);
        expect(file.corruptShares()).toEqual([]);
      }
    },
  );

  it("every directory's backing file reads back (read and write caps give the same bytes)", async () => {
    const dirs = manifest.entries.filter((e) => e.mutable && e.kind === "dirnode");
    expect(dirs.length).toBeGreaterThan(3);
    for (const d of dirs) {
      const a = await openMutableFile({ ...options(), cap: fileCapOf(d.rw_uri!) });
      const b = await openMutableFile({ ...options(), cap: fileCapOf(d.ro_uri!) });
      expect(sha(await a.readAll())).toBe(sha(await b.readAll()));
      expect(a.format).toBe("SDMF");
    }
  });

  it("Tahoe's shares take our writes: an SDMF overwrite and an MDMF in-place update (write enablers match)", async () => {
    const sdmf = files.find((e) => e.path === "docs/sdmf.txt")!;
    const next = testBytes(777, 21);
    const r = await overwriteMutableFile({ ...options(), writeCap: sdmf.rw_uri!, contents: next });
    const file = await openMutableFile({ ...options(), cap: sdmf.ro_uri! });
    expect(file.seqnum).toBe(r.seqnum);
    expect(sha(await file.readAll())).toBe(sha(next));

    const big = files.find((e) => e.path === "mdmf-big.bin")!;
    const before = await (await openMutableFile({ ...options(), cap: big.ro_uri! })).readAll();
    const patch = testBytes(100, 22);
    const u = await updateMutableFile({
      ...options(),
      writeCap: big.rw_uri!,
      offset: 200_000,
      contents: patch,
    });
    expect(u.inPlace).toBe(true);
    const expected = Buffer.from(before);
    expected.set(patch, 200_000);
    expect(sha(await (await openMutableFile({ ...options(), cap: big.ro_uri! })).readAll())).toBe(
      sha(expected),
    );
  });
});

function leaseSecretOf(client: Record<string, unknown>): Uint8Array {
  return base32Decode(String(client.lease_secret_base32));
}
