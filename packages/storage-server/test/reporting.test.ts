import { mkdir, readdir, readFile, rm, statfs, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "@lafs/interface";
import { afterEach, describe, expect, it } from "vitest";
import { ADVISORY_LIMITS } from "../src/advisories.js";
import { LIMITS } from "../src/index.js";
import { gbs, upload } from "./gbs-requests.js";
import { CBOR_HEADERS, cbor, startTestServer, type TestServer, uncbor } from "./helpers.js";

const SI = "6dnr6lbq6l7dxjr4bcgyzev7rq";
const MUT = "3vsluq5cq3czj2wcq3lwhk3py4";

interface Line {
  level: string;
  fields: Record<string, unknown>;
  message: string | undefined;
}

/** A logger that keeps every line, to check what an operator would read. */
function capturingLogger(lines: Line[]): Logger {
  const at =
    (level: string) =>
    (fields: unknown, message?: string): void => {
      lines.push(
        typeof fields === "string"
          ? { level, fields: {}, message: fields }
          : { level, fields: fields as Record<string, unknown>, message },
      );
    };
  const logger: Logger = {
    trace: at("trace"),
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    fatal: at("fatal"),
    child: () => logger,
  };
  return logger;
}

async function storeImmutable(t: TestServer, si: string, shnum: number, data: Buffer): Promise<void> {
  const g = gbs(t);
  expect((await g.allocate(si, [shnum], data.length, upload)).status).toBe(200);
  expect((await g.patch(si, shnum, 0, data, upload)).status).toBe(201);
}

async function storeMutable(t: TestServer, si: string, shnum: number, data: Buffer): Promise<void> {
  expect((await gbs(t).rtw(si, { [shnum]: { write: [[0, data]] } })).status).toBe(200);
}

const shareFile = (t: TestServer, si: string, shnum: number) =>
  join(t.storageDir, "shares", si.slice(0, 2), si, String(shnum));

async function flipFirstByte(path: string): Promise<Buffer> {
  const bytes = await readFile(path);
  bytes[0] = bytes[0]! ^ 0xff;
  await writeFile(path, bytes);
  return bytes;
}

describe("damaged share files", () => {
  let t: TestServer;
  afterEach(async () => {
    await t.close();
  });

  it("reports a share whose header is damaged (WARN, a record, status()) instead of hiding it, and leaves the file untouched", async () => {
    const lines: Line[] = [];
    t = await startTestServer({ logger: capturingLogger(lines) });
    await storeImmutable(t, SI, 0, Buffer.from("immutable share data"));
    await storeImmutable(t, SI, 1, Buffer.from("another share"));
    await storeMutable(t, MUT, 2, Buffer.from("mutable share data"));
    expect(t.server.status().corruptShares).toEqual({ count: 0, records: [] });

    const immutablePath = shareFile(t, SI, 0);
    const mutablePath = shareFile(t, MUT, 2);
    const damaged = await flipFirstByte(immutablePath);
    const damagedMutable = await flipFirstByte(mutablePath);
    t.clock.now += 1000;
    const firstSeen = t.clock.now;

    // The listing leaves it out (a client could not read it) but the server says why.
    const listed = await t.request("GET", `/storage/v1/immutable/${SI}/shares`, { headers: CBOR_HEADERS });
    expect(uncbor(listed.body)).toEqual(new Set([1]));
    const records = t.server.status().corruptShares.records;
    expect(records).toEqual([
      {
        path: immutablePath,
        storageIndex: SI,
        shareNumber: 0,
        kind: "unknown",
        problem:
          "its first bytes 0xff000002 are neither an immutable container version (1 or 2) nor the mutable container magic",
        firstSeen,
        lastSeen: firstSeen,
      },
    ]);
    const warnings = lines.filter((l) => l.level === "warn");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toContain(`damaged share file ${SI.slice(0, 2)}/${SI}/0 (left in place)`);
    expect(warnings[0]!.fields).toMatchObject({ path: immutablePath, si: SI, shnum: 0 });

    // Reading it, or listing again, is the same record: one WARN per damaged file, not one per request.
    t.clock.now += 1000;
    expect((await t.request("GET", `/storage/v1/immutable/${SI}/0`)).status).toBe(404);
    await t.request("GET", `/storage/v1/immutable/${SI}/shares`, { headers: CBOR_HEADERS });
    expect(t.server.status().corruptShares.count).toBe(1);
    expect(t.server.status().corruptShares.records[0]!.lastSeen).toBe(t.clock.now);
    expect(lines.filter((l) => l.level === "warn")).toHaveLength(1);

    // A mutable share is found by a read too.
    expect((await t.request("GET", `/storage/v1/mutable/${MUT}/2`)).status).toBe(404);
    expect(t.server.status().corruptShares.count).toBe(2);
    expect(t.server.status().corruptShares.records[1]).toMatchObject({
      storageIndex: MUT,
      shareNumber: 2,
      kind: "unknown",
    });

    // Never deleted or rewritten.
    expect(await readFile(immutablePath)).toEqual(damaged);
    expect(await readFile(mutablePath)).toEqual(damagedMutable);
    expect(lines.filter((l) => l.level === "error")).toEqual([]);
  });

  it("records a container whose lease count does not fit its size, with the kind its header claims", async () => {
    const lines: Line[] = [];
    t = await startTestServer({ logger: capturingLogger(lines) });
    await storeImmutable(t, SI, 3, Buffer.from("share three"));
    const path = shareFile(t, SI, 3);
    const bytes = await readFile(path);
    bytes.writeUInt32BE(1000, 8);
    await writeFile(path, bytes);
    const read = await t.request("GET", `/storage/v1/immutable/${SI}/3`);
    expect(read.status).toBe(500);
    expect(read.headers["x-lafs-error-code"]).toBe("TAHOE_ERR_STORAGE_SERVER_CORRUPT_CONTAINER");
    expect(t.server.status().corruptShares.records).toEqual([
      expect.objectContaining({
        path,
        storageIndex: SI,
        shareNumber: 3,
        kind: "immutable",
        problem: `1000 leases do not fit in ${bytes.length} bytes`,
      }),
    ]);
    // An operator's problem, not a bug: a WARN line, no ERROR with a stack.
    expect(lines.filter((l) => l.level === "warn")).toHaveLength(1);
    expect(lines.filter((l) => l.level === "error")).toEqual([]);
  });
});

describe("corruption advisories", () => {
  let t: TestServer;
  afterEach(async () => {
    await t.close();
  });
  const advise = (reason: string, si = SI, shnum = 0) =>
    t.request("POST", `/storage/v1/immutable/${si}/${shnum}/corrupt`, {
      headers: CBOR_HEADERS,
      body: cbor(new Map([["reason", reason]])),
    });

  it("takes a reason of the documented maximum within the body limit, and refuses one byte more", async () => {
    t = await startTestServer();
    await storeImmutable(t, SI, 0, Buffer.from("share"));
    expect(cbor(new Map([["reason", "x".repeat(ADVISORY_LIMITS.reasonBytes)]])).length).toBe(
      LIMITS.corruptBody,
    );
    const longest = await advise("é".repeat((ADVISORY_LIMITS.reasonBytes - 1) / 2) + "x");
    expect(longest.status, longest.body.toString()).toBe(200);
    expect((await advise("x".repeat(ADVISORY_LIMITS.reasonBytes))).status).toBe(200);
    const over = await advise("x".repeat(ADVISORY_LIMITS.reasonBytes + 1));
    expect(over.status).toBe(413);
    expect(over.headers["x-lafs-error-code"]).toBe("TAHOE_ERR_STORAGE_SERVER_TOO_LARGE");
    const tally = t.server.status().corruptionAdvisories;
    expect(tally.count).toBe(2);
    const files = await readdir(join(t.storageDir, "corruption-advisories"));
    let bytes = 0;
    for (const name of files)
      bytes += (await readFile(join(t.storageDir, "corruption-advisories", name))).length;
    expect(tally.bytes).toBe(bytes);
  });

  it("refuses advisories past the per-storage-index, count and byte bounds with 507, and counts what the operator removed", async () => {
    t = await startTestServer();
    await storeImmutable(t, SI, 0, Buffer.from("share"));
    for (let i = 0; i < ADVISORY_LIMITS.perStorageIndex; i++) {
      expect((await advise(`report ${i}`)).status).toBe(200);
    }
    const perSi = await advise("one more");
    expect(perSi.status).toBe(507);
    expect(perSi.headers["x-lafs-error-code"]).toBe("TAHOE_ERR_STORAGE_SERVER_ADVISORIES_FULL");
    expect(perSi.body.toString()).toContain(
      `${ADVISORY_LIMITS.perStorageIndex} advisories about storage index ${SI}`,
    );

    // Count: fill the directory up to the limit by hand (as earlier runs would have), then restart.
    const dir = join(t.storageDir, "corruption-advisories");
    const other = "aaaaaaaaaaaaaaaaaaaaaaaaaa";
    for (let i = ADVISORY_LIMITS.perStorageIndex; i < ADVISORY_LIMITS.count; i++) {
      await writeFile(join(dir, `2026-01-01T000000.${i}--${other}-0`), "report: Share Corruption\n");
    }
    await t.restart();
    expect(t.server.status().corruptionAdvisories.count).toBe(ADVISORY_LIMITS.count);
    await storeImmutable(t, MUT, 0, Buffer.from("share"));
    const byCount = await advise("over the count", MUT);
    expect(byCount.status).toBe(507);
    expect(byCount.body.toString()).toContain(`already keeps ${ADVISORY_LIMITS.count} advisories`);
    expect(t.server.status().corruptionAdvisories.refused).toBe(1);

    // The operator clears some: the next one is taken without a restart.
    for (const name of (await readdir(dir)).filter((n) => n.includes(other)).slice(0, 10))
      await rm(join(dir, name));
    expect((await advise("after cleaning", MUT)).status).toBe(200);

    // Bytes: one large file takes the whole byte budget.
    await rm(dir, { recursive: true });
    await mkdir(dir);
    await writeFile(
      join(dir, "2026-01-01T000000--operator-notes"),
      Buffer.alloc(ADVISORY_LIMITS.bytes - 100),
    );
    await t.restart();
    const byBytes = await advise("over the bytes", MUT);
    expect(byBytes.status).toBe(507);
    expect(byBytes.body.toString()).toContain(`${ADVISORY_LIMITS.bytes}-byte limit`);
  });

  it("counts advisories against reserved_space: none is written into the reserve", async () => {
    const s = await statfs(tmpdirOf());
    t = await startTestServer({ reservedSpace: Number(s.bavail) * Number(s.bsize) + 1024 * 1024 * 1024 });
    await storeImmutable(t, SI, 0, Buffer.from("share")).catch(() => undefined);
    // No space above the reserve: even the share could not be allocated, so place one by hand.
    const path = shareFile(t, SI, 0);
    await mkdir(join(path, ".."), { recursive: true });
    const header = Buffer.alloc(12);
    header.writeUInt32BE(2, 0);
    await writeFile(path, Buffer.concat([header, Buffer.from("data")]));
    const refused = await advise("reserve");
    expect(refused.status).toBe(507);
    expect(refused.headers["x-lafs-error-code"]).toBe("TAHOE_ERR_STORAGE_SERVER_FULL");
    expect(refused.body.toString()).toContain(
      `storage server is full: could not write a corruption advisory about share 0 of ${SI}`,
    );
    expect(t.server.status().corruptionAdvisories.count).toBe(0);
  });
});

function tmpdirOf(): string {
  return process.env.TMPDIR ?? "/tmp";
}
