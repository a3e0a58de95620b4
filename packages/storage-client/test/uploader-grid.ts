import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { base32Encode, createTlsIdentity, type TlsIdentity } from "@lafs/crypto";
import { permutationSeedFor } from "@lafs/placement";
import { createStorageServer, type StorageServer } from "@lafs/storage-server";
import { createStorageClient, type StorageClient, type UploadServer } from "../src/index.js";

let identity: TlsIdentity | undefined;
/** One certificate for every server: key generation is the slow part of starting one. */
function sharedIdentity(): TlsIdentity {
  identity ??= createTlsIdentity({ commonName: "grid-test" });
  return identity;
}

/** A real @lafs/storage-server on 127.0.0.1 with a real client pinned to it. */
export interface GridNode {
  readonly id: string;
  readonly nickname: string;
  readonly storageDir: string;
  readonly leaseSeed: Uint8Array;
  readonly permutationSeed: Uint8Array;
  readonly client: StorageClient;
  /** The server's NURL, swissnum included, for a second client (through a relay, say). */
  readonly nurl: string;
  readonly port: number;
  readonly stopped: boolean;
  /** Stops the server: connections are cut, later requests are refused. */
  stop(): Promise<void>;
  /** Share numbers of `si` complete on disk. */
  sharesOnDisk(si: Uint8Array): Promise<number[]>;
  /** Files under storage/shares/incoming (uploads in progress). */
  incoming(): Promise<string[]>;
  /** Files under storage/corruption-advisories. */
  advisories(): Promise<string[]>;
  sharePath(si: Uint8Array, shareNumber: number): string;
}

export interface Grid {
  readonly nodes: GridNode[];
  /** UploadServer views of every node; `connected` follows whether the node was stopped. */
  servers(overrides?: Partial<Record<string, Partial<UploadServer>>>): UploadServer[];
  close(): Promise<void>;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(path)));
    else out.push(path);
  }
  return out;
}

/** Extra storage-server options for the server at `index`, such as a reserved space. */
export type ServerTweaks = (index: number) => { reservedSpace?: number; now?: () => number };

export async function startGrid(count: number, tweaks?: ServerTweaks): Promise<Grid> {
  const id = sharedIdentity();
  const root = await mkdtemp(join(tmpdir(), "lafs-grid-"));
  const nodes: (GridNode & { server: StorageServer })[] = [];
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const storageDir = join(root, `server-${i}`, "storage");
      const swissnum = base32Encode(randomBytes(20));
      const leaseSeed = randomBytes(20);
      const server = createStorageServer({
        storageDir,
        swissnum,
        writeEnablerNodeId: leaseSeed,
        applicationVersion: "lafs-ts/test",
        tls: { keyPem: id.keyPem, certPem: id.certPem },
        listen: [{ kind: "tcp", port: 0, interface: "127.0.0.1" }],
        ...tweaks?.(i),
      });
      await server.start();
      const port = server.addresses()[0]!.port;
      const nurl = `pb://${id.spkiHash}@127.0.0.1:${port}/${swissnum}#v=1`;
      const client = createStorageClient({ nurl });
      const serverId = `v0-${base32Encode(randomBytes(32))}`;
      let stopped = false;
      const siDir = (si: Uint8Array) => {
        const b32 = base32Encode(si);
        return join(storageDir, "shares", b32.slice(0, 2), b32);
      };
      nodes[i] = {
        id: serverId,
        nickname: `server-${i}`,
        storageDir,
        leaseSeed,
        permutationSeed: permutationSeedFor(serverId),
        client,
        nurl,
        port,
        server,
        get stopped() {
          return stopped;
        },
        async stop() {
          if (stopped) return;
          stopped = true;
          await server.stop();
        },
        async sharesOnDisk(si) {
          try {
            return (await readdir(siDir(si))).map(Number).sort((a, b) => a - b);
          } catch {
            return [];
          }
        },
        incoming: () => listFiles(join(storageDir, "shares", "incoming")),
        advisories: () => listFiles(join(storageDir, "corruption-advisories")),
        sharePath: (si, shareNumber) => join(siDir(si), String(shareNumber)),
      };
    }),
  );
  return {
    nodes,
    servers: (overrides = {}) =>
      nodes.map((node) => ({
        id: node.id,
        nickname: node.nickname,
        permutationSeed: node.permutationSeed,
        leaseSeed: node.leaseSeed,
        client: node.client,
        connected: !node.stopped,
        ...overrides[node.id],
      })),
    async close() {
      for (const node of nodes) {
        await node.client.close();
        await node.stop();
      }
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Deterministic pseudo-random bytes (xorshift), so a failing size can be reproduced. */
export function testBytes(size: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, i);
  }
  for (; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}
