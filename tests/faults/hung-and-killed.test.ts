import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Grid, startGrid } from "../support/local-grid.js";
import {
  firstReceiving,
  getBytes,
  patternBytes,
  putBytes,
  putOk,
  report,
  shareFiles,
  timed,
} from "./support.js";

/**
 * Storage nodes that hang (SIGSTOP) or die (SIGKILL) in the middle of a transfer, on a grid of
 * real `tahoe run` processes: an introducer, five storage nodes, a client; k/happy/N = 3/4/5.
 * Every transfer must give the right bytes, and a hung node may cost at most 10 s more than the
 * same transfer without the fault (issue 15, defect 6): the client's liveness probe (GET
 * /version every second, 5 s timeout) finds it, and the transfer drops it at once. Sizes are
 * smaller than the 100 MiB download and 20 MiB upload to keep the suite short on two
 * cores; the path is the same (a block read or a PATCH in flight to the stopped node).
 */

const STORAGE = ["s1", "s2", "s3", "s4", "s5"];
/** LAFS_FAULT_DOWNLOAD_MIB=100 LAFS_FAULT_UPLOAD_MIB=20 measures the issue's own sizes. */
const mib = (name: string, fallback: number) => Number(process.env[name] ?? fallback) * 1024 * 1024;
const DOWNLOAD_SIZE = mib("LAFS_FAULT_DOWNLOAD_MIB", 24);
const UPLOAD_SIZE = mib("LAFS_FAULT_UPLOAD_MIB", 12);
/** The target for a hung server, over the same transfer without the fault. */
const HUNG_EXTRA_MS = 10_000;

let grid: Grid;

const allConnected = () =>
  grid.waitForServers(
    (list) => list.filter((s) => s.connection.state === "connected").length === STORAGE.length,
    `${STORAGE.length} connected servers`,
    30_000,
  );

beforeAll(async () => {
  grid = await startGrid({ storage: STORAGE, k: 3, happy: 4, n: 5 });
}, 60_000);

afterAll(async () => {
  // close() resumes stopped nodes before it stops them.
  await grid?.close();
});

describe("a storage node hangs or dies during a transfer", { timeout: 90_000 }, () => {
  let downloadCap: string;
  let downloadData: Buffer;
  let baselineDownloadMs: number;
  let baselineUploadMs: number;

  it("measures the transfers without a fault", async () => {
    downloadData = patternBytes(DOWNLOAD_SIZE, 1);
    downloadCap = await putOk(grid, downloadData);
    const down = await timed(() => getBytes(grid, downloadCap));
    expect(down.value.status).toBe(200);
    expect(down.value.body.equals(downloadData)).toBe(true);
    baselineDownloadMs = down.ms;
    const up = await timed(() => putOk(grid, patternBytes(UPLOAD_SIZE, 2)));
    baselineUploadMs = up.ms;
    report("baseline", {
      downloadBytes: DOWNLOAD_SIZE,
      downloadMs: baselineDownloadMs,
      uploadBytes: UPLOAD_SIZE,
      uploadMs: baselineUploadMs,
    });
  });

  it("SIGSTOP of a node serving a download: right bytes, under 10 s extra", async () => {
    const holder = (await shareFiles(grid, downloadCap)).find((f) => f.shnum === 0)!.node;
    let stoppedAt = 0;
    try {
      const run = await timed(() =>
        getBytes(grid, downloadCap, (received) => {
          // Stop the node holding share 0 (a primary share the decoder reads) once bytes flow.
          if (stoppedAt === 0 && received > 1024 * 1024) {
            stoppedAt = performance.now();
            grid.signal(holder, "SIGSTOP");
          }
        }),
      );
      expect(stoppedAt).toBeGreaterThan(0);
      expect(run.value.status).toBe(200);
      expect(run.value.body.length).toBe(DOWNLOAD_SIZE);
      expect(run.value.body.equals(downloadData)).toBe(true);
      const extra = run.ms - baselineDownloadMs;
      report("SIGSTOP during download", { node: holder, ms: run.ms, extraMs: extra });
      expect(extra).toBeLessThan(HUNG_EXTRA_MS);
    } finally {
      grid.signal(holder, "SIGCONT");
    }
    await allConnected();
  });

  it("SIGSTOP of a node receiving an upload: right bytes, under 10 s extra", async () => {
    const data = patternBytes(UPLOAD_SIZE, 3);
    let hung: string | undefined;
    try {
      const run = await timed(async () => {
        const put = putBytes(grid, data);
        hung = await firstReceiving(grid);
        grid.signal(hung, "SIGSTOP");
        return put;
      });
      expect(run.value.status, run.value.text).toBe(200);
      const cap = run.value.text;
      const extra = run.ms - baselineUploadMs;
      report("SIGSTOP during upload", { node: hung!, ms: run.ms, extraMs: extra });
      // Read back while the node is still hung: the file must not depend on it.
      const back = await getBytes(grid, cap);
      expect(back.status).toBe(200);
      expect(back.body.equals(data)).toBe(true);
      const holders = new Set((await shareFiles(grid, cap)).map((f) => f.node));
      expect(holders.size).toBeGreaterThanOrEqual(4);
      expect(extra).toBeLessThan(HUNG_EXTRA_MS);
    } finally {
      if (hung !== undefined) grid.signal(hung, "SIGCONT");
    }
    await allConnected();
  });

  it("SIGKILL of a node serving a download: right bytes", async () => {
    const holder = (await shareFiles(grid, downloadCap)).find((f) => f.shnum === 1)!.node;
    let killed: Promise<void> | undefined;
    try {
      const run = await timed(() =>
        getBytes(grid, downloadCap, (received) => {
          if (killed === undefined && received > 1024 * 1024) killed = grid.stop(holder, "SIGKILL");
        }),
      );
      await killed;
      expect(killed).toBeDefined();
      expect(run.value.status).toBe(200);
      expect(run.value.body.equals(downloadData)).toBe(true);
      report("SIGKILL during download", { node: holder, ms: run.ms, extraMs: run.ms - baselineDownloadMs });
    } finally {
      await killed;
      await grid.start(holder);
    }
    await allConnected();
  });

  it("SIGKILL of a node receiving an upload: right bytes, happiness kept", async () => {
    const data = patternBytes(UPLOAD_SIZE, 4);
    let killed: string | undefined;
    try {
      const run = await timed(async () => {
        const put = putBytes(grid, data);
        killed = await firstReceiving(grid);
        await grid.stop(killed, "SIGKILL");
        return put;
      });
      expect(run.value.status, run.value.text).toBe(200);
      report("SIGKILL during upload", { node: killed!, ms: run.ms, extraMs: run.ms - baselineUploadMs });
      const back = await getBytes(grid, run.value.text);
      expect(back.status).toBe(200);
      expect(back.body.equals(data)).toBe(true);
    } finally {
      if (killed !== undefined) await grid.start(killed);
    }
    await allConnected();
  });
});
