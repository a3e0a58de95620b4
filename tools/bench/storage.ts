/**
 * Loopback GBS benchmark: uploads and reads back --mib (default 256) MiB of share
 * data through @lafs/storage-client to @lafs/storage-server on 127.0.0.1, and in the same run
 * moves the same bytes, in the same request sizes and concurrency, between a minimal
 * node:https server and client. Prints MB/s for both and their ratio; never pass/fail.
 *
 *   pnpm bench:storage            (from the repo root; needs `pnpm build` first)
 *   pnpm bench:storage --mib=64 --rounds=1
 */
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { Agent, createServer, request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { base32Encode, createTlsIdentity } from "@lafs/crypto";
import { createStorageClient } from "@lafs/storage-client";
import { createStorageServer } from "@lafs/storage-server";

const MIB = 1024 * 1024;
/** `--mib=N` and `--rounds=N` on the command line override the defaults. */
function flag(name: string, fallback: number): number {
  const given = process.argv.find((a) => a.startsWith(`--${name}=`));
  const value = given === undefined ? fallback : Number(given.slice(name.length + 3));
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
  return value;
}
const TOTAL_MIB = flag("mib", 256);
if (TOTAL_MIB % 4 !== 0) throw new Error("--mib must be a multiple of 4 (4 shares of whole MiB)");
const SHARES = 4;
const CHUNK = MIB; // Tahoe-LAFS flushes PATCHes of a little over 1 MB
const SHARE_BYTES = (TOTAL_MIB * MIB) / SHARES;
const CHUNKS_PER_SHARE = SHARE_BYTES / CHUNK;
const TOTAL = SHARE_BYTES * SHARES;

// A pool of random bytes from which every chunk is cut at a chunk-specific offset, so the
// data is incompressible and each chunk differs without holding 256 MiB in memory.
const POOL = randomBytes(8 * MIB);
function chunkOf(share: number, index: number): Buffer {
  const start = ((share * 7919 + index * 104729) * 4096) % (POOL.length - CHUNK);
  return POOL.subarray(start, start + CHUNK);
}

const identity = createTlsIdentity({ commonName: "bench" });

interface Result {
  uploadS: number;
  downloadS: number;
}

const mbps = (bytes: number, s: number) => bytes / 1e6 / s;

async function timed(run: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** SHARES parallel streams, each sending its chunks one request at a time, like one upload per server. */
function perShare(work: (share: number) => Promise<void>): Promise<void> {
  return Promise.all(Array.from({ length: SHARES }, (_, s) => work(s))).then(() => undefined);
}

async function benchGbs(chunksPerShare = CHUNKS_PER_SHARE): Promise<Result> {
  const dir = await mkdtemp(join(tmpdir(), "lafs-bench-storage-"));
  const swissnum = base32Encode(randomBytes(20));
  const server = createStorageServer({
    storageDir: join(dir, "storage"),
    swissnum,
    writeEnablerNodeId: randomBytes(20),
    tls: { keyPem: identity.keyPem, certPem: identity.certPem },
    listen: [{ kind: "tcp", port: 0, interface: "127.0.0.1" }],
  });
  await server.start();
  const { port } = server.addresses()[0]!;
  const client = createStorageClient({ nurl: `pb://${identity.spkiHash}@127.0.0.1:${port}/${swissnum}#v=1` });
  try {
    const si = new Uint8Array(randomBytes(16));
    const uploadSecret = randomBytes(20);
    const shareNumbers = Array.from({ length: SHARES }, (_, i) => i);
    const alloc = await client.allocate(si, {
      shareNumbers,
      allocatedSize: chunksPerShare * CHUNK,
      uploadSecret,
      renewSecret: randomBytes(32),
      cancelSecret: randomBytes(32),
    });
    if (alloc.allocated.length !== SHARES) throw new Error(`allocated only ${alloc.allocated.join(",")}`);
    const uploadS = await timed(() =>
      perShare(async (s) => {
        for (let i = 0; i < chunksPerShare; i++) {
          const r = await client.write(si, s, i * CHUNK, chunkOf(s, i), uploadSecret);
          if (r.complete !== (i === chunksPerShare - 1))
            throw new Error(`share ${s} chunk ${i}: complete=${r.complete}`);
        }
      }),
    );
    const downloadS = await timed(() =>
      perShare(async (s) => {
        for (let i = 0; i < chunksPerShare; i++) {
          const got = await client.read(si, s, i * CHUNK, CHUNK);
          if (!Buffer.from(got.buffer, got.byteOffset, got.length).equals(chunkOf(s, i))) {
            throw new Error(`share ${s} chunk ${i} read back different bytes`);
          }
        }
      }),
    );
    return { uploadS, downloadS };
  } finally {
    await client.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A minimal node:https server holding nothing: uploads are dropped, reads are served from the
 * chunk pool. With `gbs` it answers as a GBS server would (CBOR write replies, 206 reads), so
 * the storage client can run against it and its own cost shows apart from the real server's.
 */
async function startMemoryServer(gbs: boolean) {
  const required = Buffer.from("a168726571756972656480", "hex"); // {"required": []}
  const server = createServer({ key: identity.keyPem, cert: identity.certPem }, (req, res) => {
    const parts = (req.url ?? "").split("/");
    if (req.method === "PATCH") {
      req.on("data", () => {});
      req.on("end", () => {
        if (gbs) res.setHeader("content-type", "application/cbor");
        res.end(gbs ? required : undefined);
      });
      return;
    }
    if (!gbs) {
      res.end(chunkOf(Number(parts[1]), Number(parts[2])));
      return;
    }
    const first = Number(/bytes=(\d+)-/.exec(req.headers.range ?? "")?.[1]);
    const chunk = chunkOf(Number(parts[5]), first / CHUNK);
    res.writeHead(206, {
      "content-type": "application/octet-stream",
      "content-range": `bytes ${first}-${first + chunk.length - 1}/*`,
    });
    res.end(chunk);
  });
  server.keepAliveTimeout = 65_000;
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** The storage client against the memory server: what the client alone costs. */
async function benchClientOnly(chunksPerShare = CHUNKS_PER_SHARE): Promise<Result> {
  const server = await startMemoryServer(true);
  const client = createStorageClient({ nurl: `pb://${identity.spkiHash}@127.0.0.1:${server.port}/x#v=1` });
  const si = new Uint8Array(16);
  const uploadSecret = randomBytes(20);
  try {
    const uploadS = await timed(() =>
      perShare(async (s) => {
        for (let i = 0; i < chunksPerShare; i++)
          await client.write(si, s, i * CHUNK, chunkOf(s, i), uploadSecret);
      }),
    );
    const downloadS = await timed(() =>
      perShare(async (s) => {
        for (let i = 0; i < chunksPerShare; i++) {
          const got = await client.read(si, s, i * CHUNK, CHUNK);
          if (!Buffer.from(got.buffer, got.byteOffset, got.length).equals(chunkOf(s, i))) {
            throw new Error(`client-only share ${s} chunk ${i} differs`);
          }
        }
      }),
    );
    return { uploadS, downloadS };
  } finally {
    await client.close();
    server.close();
  }
}

/** The baseline: node:https alone, no framing, no disk. */
async function benchRawHttps(chunksPerShare = CHUNKS_PER_SHARE): Promise<Result> {
  const server = await startMemoryServer(false);
  const agent = new Agent({ keepAlive: true, maxSockets: 10, rejectUnauthorized: false });
  const call = (method: string, path: string, body?: Buffer) =>
    new Promise<Buffer>((resolve, reject) => {
      const req = httpsRequest({ host: "127.0.0.1", port: server.port, method, path, agent }, (res) => {
        const parts: Buffer[] = [];
        res.on("data", (d: Buffer) => parts.push(d));
        res.on("end", () => resolve(Buffer.concat(parts)));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(body);
    });
  try {
    const uploadS = await timed(() =>
      perShare(async (s) => {
        for (let i = 0; i < chunksPerShare; i++) await call("PATCH", `/${s}/${i}`, chunkOf(s, i));
      }),
    );
    const downloadS = await timed(() =>
      perShare(async (s) => {
        for (let i = 0; i < chunksPerShare; i++) {
          const got = await call("GET", `/${s}/${i}`);
          if (!got.equals(chunkOf(s, i))) throw new Error(`baseline share ${s} chunk ${i} differs`);
        }
      }),
    );
    return { uploadS, downloadS };
  } finally {
    agent.destroy();
    server.close();
  }
}

function row(name: string, r: Result): string {
  const up = mbps(TOTAL, r.uploadS);
  const down = mbps(TOTAL, r.downloadS);
  const both = mbps(2 * TOTAL, r.uploadS + r.downloadS);
  return `${name.padEnd(22)} upload ${up.toFixed(1).padStart(7)} MB/s   read ${down.toFixed(1).padStart(7)} MB/s   both ${both.toFixed(1).padStart(7)} MB/s`;
}

const ROUNDS = flag("rounds", 3);

/** The median of each phase over the rounds: this machine may be busy with other work. */
function median(results: Result[]): Result {
  const mid = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { uploadS: mid(results.map((r) => r.uploadS)), downloadS: mid(results.map((r) => r.downloadS)) };
}

async function main(): Promise<void> {
  console.log(
    `GBS loopback benchmark: ${TOTAL_MIB} MiB as ${SHARES} shares x ${SHARE_BYTES / MIB} MiB, ${CHUNK / MIB} MiB per request, ` +
      `${SHARES} streams, median of ${ROUNDS} interleaved rounds; node ${process.version}, storage in ${tmpdir()}`,
  );
  // A small warm-up run of each first, so JIT compilation does not count against either side.
  await benchRawHttps(2);
  await benchClientOnly(2);
  await benchGbs(2);
  const raws: Result[] = [];
  const clientOnly: Result[] = [];
  const gbss: Result[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    raws.push(await benchRawHttps());
    clientOnly.push(await benchClientOnly());
    gbss.push(await benchGbs());
  }
  const raw = median(raws);
  const client = median(clientOnly);
  const gbs = median(gbss);
  console.log(row("raw node:https", raw));
  console.log(row("client, memory server", client));
  console.log(row("client -> storage-server", gbs));
  const ratio = (a: Result) =>
    `upload ${(raw.uploadS / a.uploadS).toFixed(2)}, read ${(raw.downloadS / a.downloadS).toFixed(2)}, ` +
    `both ${((raw.uploadS + raw.downloadS) / (a.uploadS + a.downloadS)).toFixed(2)}`;
  console.log(`ratio client alone / raw:         ${ratio(client)}`);
  console.log(`ratio client + storage-server / raw: ${ratio(gbs)} (target >= 0.60)`);
}

await main();
