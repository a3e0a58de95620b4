import { mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readBody, streamBody } from "../src/body.js";
import { tooLarge } from "../src/errors.js";
import { readFully, writevFully } from "../src/file-io.js";
import { createHandlePool, type Pooled } from "../src/handle-pool.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "lafs-storage-io-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A pool over real files that counts opens and knows which handles were closed. */
function countingPool(options: { max?: number; idleMs?: number; maxAgeMs?: number }) {
  const clock = { now: 0 };
  const opened: Pooled[] = [];
  const closed = new Set<Pooled>();
  const pool = createHandlePool<Pooled>({
    max: options.max ?? 8,
    idleMs: options.idleMs ?? 1000,
    ...(options.maxAgeMs === undefined ? {} : { maxAgeMs: options.maxAgeMs }),
    now: () => clock.now,
  });
  const opener = (path: string) => async () => {
    const fh = await open(path, "r");
    const entry: Pooled = { fh };
    const close = fh.close.bind(fh);
    fh.close = () => {
      closed.add(entry);
      return close();
    };
    opened.push(entry);
    return entry;
  };
  return { pool, clock, opened, closed, opener };
}

describe("handle pool", () => {
  it("reuses one handle across borrows and shares one open between concurrent misses", async () => {
    const path = join(dir, "a");
    await writeFile(path, "hello");
    const { pool, opened, closed, opener } = countingPool({});
    const [x, y] = await Promise.all([pool.acquire(path, opener(path)), pool.acquire(path, opener(path))]);
    expect(x.value).toBe(y.value);
    x.release();
    y.release();
    const z = await pool.acquire(path, opener(path));
    expect((await readFully(z.value.fh, 5, 0)).toString()).toBe("hello");
    z.release();
    expect(opened).toHaveLength(1);
    expect(closed.size).toBe(0);
    await pool.close();
    expect(closed.size).toBe(1);
  });

  it("closes idle handles on a sweep, never one that is borrowed", async () => {
    const path = join(dir, "a");
    await writeFile(path, "x");
    const { pool, clock, opened, closed, opener } = countingPool({ idleMs: 1000 });
    const held = await pool.acquire(path, opener(path));
    clock.now += 5000;
    await pool.sweep();
    expect(closed.size).toBe(0);
    held.release();
    clock.now += 999;
    await pool.sweep();
    expect(closed.size).toBe(0);
    clock.now += 1;
    await pool.sweep();
    expect(closed.has(opened[0]!)).toBe(true);
    expect(pool.size()).toBe(0);
    (await pool.acquire(path, opener(path))).release();
    expect(opened).toHaveLength(2);
    await pool.close();
  });

  it("keeps at most `max` idle handles, closing the least recently used", async () => {
    const paths = ["a", "b", "c"].map((n) => join(dir, n));
    for (const p of paths) await writeFile(p, p);
    const { pool, opened, closed, opener } = countingPool({ max: 2 });
    for (const p of paths) (await pool.acquire(p, opener(p))).release();
    expect(pool.size()).toBe(2);
    await new Promise((r) => setImmediate(r));
    expect([...closed]).toEqual([opened[0]]);
    await pool.close();
  });

  it("reopens a file older than maxAgeMs, closing the old handle once its reader lets go", async () => {
    const path = join(dir, "a");
    await writeFile(path, "old!");
    const { pool, clock, opened, closed, opener } = countingPool({ maxAgeMs: 100, idleMs: 10_000 });
    const first = await pool.acquire(path, opener(path));
    // The file is replaced behind the pool's back, as an operator might do.
    await rm(path);
    await writeFile(path, "new!");
    clock.now += 100;
    const second = await pool.acquire(path, opener(path));
    expect((await readFully(second.value.fh, 4, 0)).toString()).toBe("new!");
    expect((await readFully(first.value.fh, 4, 0)).toString()).toBe("old!");
    expect(closed.size).toBe(0);
    first.release();
    await new Promise((r) => setImmediate(r));
    expect([...closed]).toEqual([opened[0]]);
    second.release();
    await pool.close();
  });

  it("does not cache a failed open, and drop makes the next borrow reopen", async () => {
    const path = join(dir, "late");
    const { pool, opened, opener } = countingPool({});
    await expect(pool.acquire(path, opener(path))).rejects.toMatchObject({ code: "ENOENT" });
    expect(pool.size()).toBe(0);
    await writeFile(path, "now");
    (await pool.acquire(path, opener(path))).release();
    await pool.drop(path);
    (await pool.acquire(path, opener(path))).release();
    expect(opened).toHaveLength(2);
    await pool.close();
    await expect(pool.acquire(path, opener(path))).rejects.toMatchObject({
      code: "TAHOE_ERR_STORAGE_SERVER_STOPPED",
      status: 503,
    });
  });
});

describe("file io", () => {
  it("writes pieces back to back at a position and reads them back, short only at the end of the file", async () => {
    const path = join(dir, "f");
    await writeFile(path, Buffer.alloc(10, 0x2e));
    const fh = await open(path, "r+");
    try {
      await writevFully(fh, [Buffer.from("ab"), Buffer.from(""), Buffer.from("cde")], 3);
      expect((await readFully(fh, 10, 0)).toString()).toBe("...abcde..");
      expect((await readFully(fh, 10, 8)).toString()).toBe("..");
    } finally {
      await fh.close();
    }
    expect((await readFile(path)).toString()).toBe("...abcde..");
  });
});

describe("streamed request bodies", () => {
  const tooLong = () => tooLarge("too long", "shorter");

  it("hands the body over in order, in batches, with their offsets, and pauses while writes lag", async () => {
    const input = new PassThrough();
    const got: { offset: number; bytes: string }[] = [];
    let release: (() => void) | undefined;
    let running = 0;
    let most = 0;
    const done = streamBody(
      input,
      "12",
      100,
      tooLong,
      async (pieces, offset) => {
        running++;
        most = Math.max(most, running);
        got.push({ offset, bytes: Buffer.concat(pieces).toString() });
        if (offset === 0) await new Promise<void>((r) => (release = r));
        running--;
      },
      4,
      1,
    );
    input.write("abc");
    input.write("defg");
    input.write("hi");
    await new Promise((r) => setImmediate(r));
    // The first batch is still being written, so the stream waits and nothing else is sent.
    expect(got).toEqual([{ offset: 0, bytes: "abcdefg" }]);
    expect(input.isPaused()).toBe(true);
    input.end("jkl");
    release!();
    expect(await done).toBe(12);
    expect(got).toEqual([
      { offset: 0, bytes: "abcdefg" },
      { offset: 7, bytes: "hijkl" },
    ]);
    expect(most).toBe(1);
  });

  it("fails a body over the limit only after the writes already started have finished", async () => {
    const input = new PassThrough();
    let finished = false;
    const done = streamBody(
      input,
      undefined,
      6,
      tooLong,
      async () => {
        await new Promise((r) => setTimeout(r, 20));
        finished = true;
      },
      2,
    );
    input.write("abcd");
    input.write("efgh");
    await expect(done).rejects.toMatchObject({ code: "TAHOE_ERR_STORAGE_SERVER_TOO_LARGE" });
    expect(finished).toBe(true);
  });

  it("refuses a Content-Length over the limit before reading, and fails a body cut short", async () => {
    const sink = async () => {};
    await expect(streamBody(new PassThrough(), "7", 6, tooLong, sink, 2)).rejects.toMatchObject({
      status: 413,
    });
    const input = new PassThrough();
    const done = streamBody(input, "10", 10, tooLong, sink, 2);
    input.write("abc");
    input.destroy();
    await expect(done).rejects.toThrow(/ended early/);
  });

  it("fails at once a body whose request was cancelled before anyone listened (no hang holding the share's lock)", async () => {
    const sink = async () => {};
    const streamed = new PassThrough();
    streamed.write("abc");
    streamed.destroy();
    await new Promise((resolve) => setImmediate(resolve)); // its 'close' has gone out
    await expect(streamBody(streamed, "10", 10, tooLong, sink, 2)).rejects.toMatchObject({
      code: "ECONNRESET",
    });
    const read = new PassThrough();
    read.write("abc");
    read.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    await expect(readBody(read, "10", 10, tooLong)).rejects.toMatchObject({ code: "ECONNRESET" });
    // Cut short after listening: readBody now sees the close as well.
    const late = new PassThrough();
    const done = readBody(late, "10", 10, tooLong);
    late.write("abc");
    late.destroy();
    await expect(done).rejects.toThrow(/ended early/);
  });

  it("passes on a failed write", async () => {
    const input = new PassThrough();
    const done = streamBody(
      input,
      undefined,
      100,
      tooLong,
      async () => {
        throw Object.assign(new Error("no space left"), { code: "ENOSPC" });
      },
      1,
    );
    input.end("abc");
    await expect(done).rejects.toMatchObject({ code: "ENOSPC" });
  });
});
