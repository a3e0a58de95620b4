import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { base32Encode, createTlsIdentity } from "@lafs/crypto";
import { createStorageClient, type UploadServer } from "@lafs/storage-client";
import { createStorageServer, type StorageServer } from "@lafs/storage-server";

/** Real storage servers on 127.0.0.1, each in its own temp dir; close() stops them all and removes the dirs. */
export interface TestGrid {
  readonly servers: UploadServer[];
  close(): Promise<void>;
}

export async function startTestGrid(
  count: number,
  tarballs?: readonly {
    dir: (storageDir: string) => Promise<void>;
    id: string;
    permutationSeed: Uint8Array;
    leaseSeed: Uint8Array;
  }[],
): Promise<TestGrid> {
  const identity = createTlsIdentity({ commonName: "directory-test" });
  const root = await mkdtemp(join(tmpdir(), "lafs-directory-"));
  const started: StorageServer[] = [];
  const servers: UploadServer[] = [];
  const close = async () => {
    for (const s of servers) await s.client.close().catch(() => {});
    for (const s of started) await s.stop().catch(() => {});
    await rm(root, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < count; i++) {
      const given = tarballs?.[i];
      const storageDir = join(root, `server-${i}`, "storage");
      if (given !== undefined) await given.dir(storageDir);
      const swissnum = base32Encode(randomBytes(20));
      const leaseSeed = given?.leaseSeed ?? randomBytes(20);
      const server = createStorageServer({
        storageDir,
        swissnum,
        writeEnablerNodeId: leaseSeed,
        applicationVersion: "lafs-ts/test",
        tls: { keyPem: identity.keyPem, certPem: identity.certPem },
        listen: [{ kind: "tcp", port: 0, interface: "127.0.0.1" }],
      });
      started.push(server);
      await server.start();
      const port = server.addresses()[0]!.port;
      servers.push({
        id: given?.id ?? `v0-${base32Encode(randomBytes(32))}`,
        nickname: `server-${i}`,
        permutationSeed: given?.permutationSeed ?? randomBytes(32),
        leaseSeed,
        client: createStorageClient({ nurl: `pb://${identity.spkiHash}@127.0.0.1:${port}/${swissnum}#v=1` }),
        connected: true,
      });
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { servers, close };
}
