/**
 * Hostile-input memory benchmark of @lafs/storage-server (issue 15, defect 2). Starts a real
 * storage server in a child process and, for each case, prints the child's RSS when idle
 * before it, its peak while the case runs (sampled from /proc every 5 ms), and 1 s after,
 * with the statuses the server answered and the slowest /version answer during the case.
 * Target: no case raises the peak more than 64 MiB over idle. Linux only (/proc); never
 * pass/fail.
 *
 *   pnpm bench:storage-hostile       (from the repo root; or `pnpm --filter @lafs/storage-server bench`; needs `pnpm build` first)
 */
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { Agent, request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encode } from "cbor2";

const MIB = 1024 * 1024;
const HUGE = Number.MAX_SAFE_INTEGER; // 2^53 - 1

interface Reply {
  status: number;
  body: Buffer;
}

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  return kb ? Number(kb[1]) * 1024 : 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (bytes: number) => (bytes / MIB).toFixed(0);

function client(port: number, swissnum: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: 16, rejectUnauthorized: false });
  const auth = `Tahoe-LAFS ${Buffer.from(swissnum).toString("base64")}`;
  const send = (
    method: string,
    path: string,
    headers: Record<string, string | string[]>,
    body?: Uint8Array,
  ) =>
    new Promise<Reply>((resolve, reject) => {
      const req = httpsRequest(
        { host: "127.0.0.1", port, method, path, agent, headers: { Authorization: auth, ...headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
          res.on("error", reject);
        },
      );
      // A server that refuses a request before its body is sent answers, then closes the
      // connection: the client may see the reset before the answer. Status 0 counts those.
      req.on("error", (error: NodeJS.ErrnoException) =>
        error.code === "ECONNRESET" || error.code === "EPIPE"
          ? resolve({ status: 0, body: Buffer.alloc(0) })
          : reject(error),
      );
      req.end(body === undefined ? undefined : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    });
  const secret = (kind: string, value: Uint8Array) => `${kind} ${Buffer.from(value).toString("base64")}`;
  const renew = new Uint8Array(32).fill(1);
  const cancel = new Uint8Array(32).fill(2);
  const cborHeaders = { Accept: "application/cbor", "Content-Type": "application/cbor" };
  const bytes = (b: Uint8Array) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

  return {
    agent,
    version: () => send("GET", "/storage/v1/version", { Accept: "application/cbor" }),
    rtw(si: string, writes: Record<number, [number, Uint8Array][]>, reads: [number, number][]) {
      const vectors = new Map(
        Object.entries(writes).map(([n, ws]) => [
          Number(n),
          new Map<string, unknown>([
            ["test", []],
            [
              "write",
              ws.map(
                ([offset, data]) =>
                  new Map<string, unknown>([
                    ["offset", offset],
                    ["data", bytes(data)],
                  ]),
              ),
            ],
            ["new-length", null],
          ]),
        ]),
      );
      const body = encode(
        new Map<string, unknown>([
          ["test-write-vectors", vectors],
          [
            "read-vector",
            reads.map(
              ([offset, size]) =>
                new Map([
                  ["offset", offset],
                  ["size", size],
                ]),
            ),
          ],
        ]),
      );
      return send(
        "POST",
        `/storage/v1/mutable/${si}/read-test-write`,
        {
          ...cborHeaders,
          "X-Tahoe-Authorization": [
            secret("write-enabler", new Uint8Array(32).fill(4)),
            secret("lease-renew-secret", renew),
            secret("lease-cancel-secret", cancel),
          ],
        },
        body,
      );
    },
    allocate(si: string, shares: number[], size: number, upload: Uint8Array) {
      return send(
        "POST",
        `/storage/v1/immutable/${si}`,
        {
          ...cborHeaders,
          "X-Tahoe-Authorization": [
            secret("lease-renew-secret", renew),
            secret("lease-cancel-secret", cancel),
            secret("upload-secret", upload),
          ],
        },
        encode(
          new Map<string, unknown>([
            ["share-numbers", new Set(shares)],
            ["allocated-size", size],
          ]),
        ),
      );
    },
    patch(si: string, shnum: number, first: number, data: Uint8Array, upload: Uint8Array) {
      return send(
        "PATCH",
        `/storage/v1/immutable/${si}/${shnum}`,
        {
          Accept: "application/cbor",
          "Content-Range": `bytes ${first}-${first + data.length - 1}/*`,
          "X-Tahoe-Authorization": secret("upload-secret", upload),
        },
        data,
      );
    },
    read(si: string, shnum: number, range: string) {
      return send("GET", `/storage/v1/mutable/${si}/${shnum}`, { Range: range });
    },
  };
}

type Client = ReturnType<typeof client>;

/**
 * Starts a fresh server, runs `setup`, then runs `work` while sampling the server's RSS and
 * timing /version; prints one line. "base" is the fresh server after one warm-up request,
 * "idle" is just before `work` (after the setup), "peak" the most seen during it.
 */
async function measure(
  name: string,
  setup: (c: Client) => Promise<void>,
  work: (c: Client) => Promise<string>,
) {
  const dir = await mkdtemp(join(tmpdir(), "lafs-bench-hostile-"));
  const server = fork(new URL("./hostile-server.mjs", import.meta.url), [dir], { stdio: "inherit" });
  let c: Client | undefined;
  try {
    const [hello] = (await once(server, "message")) as [{ port: number; swissnum: string }];
    c = client(hello.port, hello.swissnum);
    const cl = c;
    const pid = server.pid!;
    // Warm up the code paths once, so "base" is a server that has served requests.
    await cl.version();
    await cl.rtw("aaaaaaaaaaaaaaaaaaaaaaaaaa", { 0: [[0, randomBytes(1000)]] }, [[0, 10]]);
    await sleep(500);
    const base = await rssOf(pid);
    await setup(cl);
    await sleep(1000);
    const idle = await rssOf(pid);
    let peak = idle;
    let running = true;
    const sampler = (async () => {
      while (running) {
        peak = Math.max(peak, await rssOf(pid));
        await sleep(5);
      }
    })();
    let slowestVersion = 0;
    const prober = (async () => {
      while (running) {
        const t0 = performance.now();
        await cl.version();
        slowestVersion = Math.max(slowestVersion, performance.now() - t0);
        await sleep(100);
      }
    })();
    const t0 = performance.now();
    const outcome = await work(cl);
    const seconds = (performance.now() - t0) / 1000;
    running = false;
    await Promise.all([sampler, prober]);
    await sleep(1000);
    const after = await rssOf(pid);
    console.log(`${name}: ${outcome}`);
    console.log(
      `  base ${mib(base)} MiB, idle ${mib(idle)} MiB, peak ${mib(peak)} MiB (+${mib(peak - idle)} over idle), after ${mib(after)} MiB; ${seconds.toFixed(2)} s, slowest /version ${slowestVersion.toFixed(0)} ms`,
    );
  } finally {
    c?.agent.destroy();
    if (server.connected) server.disconnect();
    if (server.exitCode === null) await once(server, "exit");
    await rm(dir, { recursive: true, force: true });
  }
}

const statuses = (replies: Reply[]) => {
  const counts = new Map<number, number>();
  for (const r of replies) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${n}x${s === 0 ? "reset" : s}`).join(" ");
};

async function main() {
  console.log("one fresh storage server process per case; RSS sampled from /proc every 5 ms");
  const none = async () => {};

  await measure("1 byte at offset 1e9, then read {0, 2^53-1}", none, async (c) => {
    const w = await c.rtw("bbbbbbbbbbbbbbbbbbbbbbbbba", { 0: [[1e9, Buffer.from("z")]] }, []);
    const r = await c.rtw("bbbbbbbbbbbbbbbbbbbbbbbbba", {}, [[0, HUGE]]);
    return `write ${w.status}, read ${r.status}`;
  });

  const far = 4.5 * 1024 * MIB;
  await measure("slot over 4 GiB (1 byte at 4.5 GiB), reads", none, async (c) => {
    const w = await c.rtw("ccccccccccccccccccccccccca", { 0: [[far, Buffer.from("z")]] }, []);
    const huge = await c.rtw("ccccccccccccccccccccccccca", {}, [[0, HUGE]]);
    const cap = await c.rtw("ccccccccccccccccccccccccca", {}, [[far - MIB + 1, HUGE]]);
    const get = await c.read("ccccccccccccccccccccccccca", 0, `bytes=${far - 256 * MIB}-${far}`);
    return `write ${w.status}, read {0, 2^53-1} ${huge.status}, read of 1 MiB ${cap.status}, GET of 256 MiB ${get.status} (${mib(get.body.length)} MiB)`;
  });

  // Six shares of 60 MiB + 1 byte with 60 MiB written to each, in 1 MiB PATCHes as Tahoe
  // sends them; then six concurrent PATCHes resending those 60 MiB, compared with the disk.
  const share = randomBytes(60 * MIB);
  const upload = randomBytes(20);
  const si = "ddddddddddddddddddddddddda";
  const written = async (c: Client) => {
    const a = await c.allocate(si, [0, 1, 2, 3, 4, 5], share.length + 1, upload);
    if (a.status !== 200) throw new Error(`allocate answered ${a.status}: ${a.body}`);
    for (let shnum = 0; shnum < 6; shnum++) {
      for (let at = 0; at < share.length; at += MIB) {
        const r = await c.patch(si, shnum, at, share.subarray(at, at + MIB), upload);
        if (r.status !== 200) throw new Error(`PATCH answered ${r.status}: ${r.body}`);
      }
    }
  };
  await measure("six concurrent 60 MiB PATCHes over written bytes, one per share", written, async (c) =>
    statuses(await Promise.all([0, 1, 2, 3, 4, 5].map((shnum) => c.patch(si, shnum, 0, share, upload)))),
  );
  await measure("six concurrent 60 MiB PATCHes of the same range of one share", written, async (c) =>
    statuses(await Promise.all([0, 1, 2, 3, 4, 5].map(() => c.patch(si, 0, 0, share, upload)))),
  );
  await measure("six concurrent 40 MiB read-test-write bodies", none, async (c) =>
    statuses(
      await Promise.all(
        [0, 1, 2, 3, 4, 5].map((i) =>
          c.rtw(`eeeeeeeeeeeeeeeeeeeeeeeee${"aeimqu"[i]}`, { 0: [[0, share.subarray(0, 40 * MIB)]] }, []),
        ),
      ),
    ),
  );
}

await main();
