import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { base32Decode, base32Encode, taggedHash } from "@lafs/crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Grid, startGrid, tahoe, tahoeOk } from "../support/local-grid.js";

/**
 * Mutable files on a grid of real processes (an introducer, four lafs-ts storage nodes and a
 * client, each run with `tahoe run`; k/happy/N = 2/3/4): SDMF and MDMF created, read, overwritten
 * and updated at an offset through the client's web API and through `tahoe put` / `tahoe get`,
 * and writes through read-only caps refused. The steps run in order and share the files they make.
 */

const STORAGE = ["s1", "s2", "s3", "s4"];
const SEGMENT = 128 * 1024;

let grid: Grid;
let nodeUrl: string;

beforeAll(async () => {
  grid = await startGrid({ storage: STORAGE, k: 2, happy: 3, n: 4 });
  nodeUrl = grid.nodeUrl;
}, 60_000);

afterAll(async () => {
  await grid?.close();
});

const at = (cap: string, query = "") => new URL(`uri/${encodeURIComponent(cap)}${query}`, nodeUrl);

async function send(method: string, url: URL, body?: Uint8Array): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method, ...(body === undefined ? {} : { body }) });
  return { status: res.status, text: (await res.text()).trim() };
}

async function read(
  cap: string,
  range?: string,
): Promise<{ status: number; bytes: Buffer; headers: Headers }> {
  const res = await fetch(at(cap), range === undefined ? {} : { headers: { range } });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

type FileJson = [string, Record<string, unknown>];
async function json(cap: string): Promise<FileJson> {
  const res = await fetch(at(cap, "?t=json"));
  expect(res.status).toBe(200);
  return (await res.json()) as FileJson;
}

/** The mutable cap's storage index: readkey from the writekey, SI from the readkey (spec §1.2). */
function storageIndexOf(writeCap: string): string {
  const writekey = base32Decode(writeCap.split(":")[2]!);
  const readkey = taggedHash("allmydata_mutable_writekey_to_readkey_v1", writekey, 16);
  return base32Encode(taggedHash("allmydata_mutable_readkey_to_storage_index_v1", readkey, 16));
}

/** Share numbers of a storage index held on each storage node. */
async function sharesOn(writeCap: string): Promise<number[]> {
  const si = storageIndexOf(writeCap);
  const found: number[] = [];
  for (const node of STORAGE) {
    const names = await readdir(join(grid.dirs[node]!, "storage/shares", si.slice(0, 2), si)).catch(() => []);
    found.push(...names.map(Number));
  }
  return found.sort((a, b) => a - b);
}

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("mutable files through the web API", { timeout: 60_000 }, () => {
  let sdmf: { cap: string; data: Buffer };

  it("PUT /uri?format=SDMF makes a URI:SSK: file that reads back by write and read cap", async () => {
    const data = randomBytes(3000);
    const put = await send("PUT", new URL("uri?format=SDMF", nodeUrl), data);
    expect(put.status).toBe(200);
    expect(put.text).toMatch(/^URI:SSK:[a-z2-7]{26}:[a-z2-7]{52}$/);
    sdmf = { cap: put.text, data };
    const [kind, info] = await json(put.text);
    expect(kind).toBe("filenode");
    expect(info).toMatchObject({ mutable: true, format: "SDMF", size: 3000, rw_uri: put.text });
    expect(info.ro_uri).toMatch(/^URI:SSK-RO:/);
    expect(info.verify_uri).toMatch(/^URI:SSK-Verifier:/);
    for (const cap of [put.text, info.ro_uri as string]) {
      const got = await read(cap);
      expect(got.status).toBe(200);
      expect(sha(got.bytes)).toBe(sha(data));
    }
    const [, readOnly] = await json(info.ro_uri as string);
    expect(readOnly.rw_uri).toBeUndefined();
    expect(readOnly.size).toBe(3000);
    // N = 4 shares, one per server (more servers than shares: each share on its own server).
    expect(await sharesOn(put.text)).toEqual([0, 1, 2, 3]);
  });

  it("PUT /uri/WRITECAP overwrites in place: same cap, new contents, new size", async () => {
    const next = randomBytes(5000);
    const put = await send("PUT", at(sdmf.cap), next);
    expect(put).toEqual({ status: 200, text: sdmf.cap });
    expect(sha((await read(sdmf.cap)).bytes)).toBe(sha(next));
    expect((await json(sdmf.cap))[1].size).toBe(5000);
    sdmf.data = next;
  });

  it("an SDMF file updated at an offset is rewritten whole with the new bytes spliced in", async () => {
    const patch = Buffer.from("patched!");
    expect((await send("PUT", at(sdmf.cap, "?offset=100"), patch)).status).toBe(200);
    const expected = Buffer.from(sdmf.data);
    patch.copy(expected, 100);
    expect(sha((await read(sdmf.cap)).bytes)).toBe(sha(expected));
    sdmf.data = expected;
  });

  it("MDMF: three segments, ranges, an update inside a segment, an append, and an offset past the end", async () => {
    const data = randomBytes(2 * SEGMENT + 12_345);
    const put = await send("PUT", new URL("uri?format=MDMF", nodeUrl), data);
    expect(put.status).toBe(200);
    expect(put.text).toMatch(/^URI:MDMF:[a-z2-7]{26}:[a-z2-7]{52}$/);
    const cap = put.text;
    expect((await json(cap))[1]).toMatchObject({ mutable: true, format: "MDMF", size: data.length });
    const range = await read(cap, `bytes=${SEGMENT - 10}-${SEGMENT + 9}`);
    expect(range.status).toBe(206);
    expect(range.headers.get("content-range")).toBe(`bytes ${SEGMENT - 10}-${SEGMENT + 9}/${data.length}`);
    expect(range.bytes.equals(data.subarray(SEGMENT - 10, SEGMENT + 10))).toBe(true);

    const patch = randomBytes(1000);
    expect(await send("PUT", at(cap, `?offset=${SEGMENT + 500}`), patch)).toEqual({ status: 200, text: cap });
    const expected = Buffer.from(data);
    patch.copy(expected, SEGMENT + 500);
    expect(sha((await read(cap)).bytes)).toBe(sha(expected));

    const tail = randomBytes(4000);
    expect((await send("PUT", at(cap, `?offset=${expected.length}`), tail)).status).toBe(200);
    const appended = Buffer.concat([expected, tail]);
    const whole = await read(cap);
    expect(whole.bytes.length).toBe(appended.length);
    expect(sha(whole.bytes)).toBe(sha(appended));

    const past = await send("PUT", at(cap, `?offset=${appended.length + 1}`), Buffer.from("x"));
    expect(past.status).toBe(400);
    expect(past.text).toContain("is past the end");
    expect(sha((await read(cap)).bytes)).toBe(sha(appended));
  });

  it("read-only and verify caps refuse writes with a 400 and change nothing", async () => {
    const [, info] = await json(sdmf.cap);
    for (const [cap, query] of [
      [info.ro_uri as string, ""],
      [info.ro_uri as string, "?offset=0"],
      [info.verify_uri as string, ""],
    ] as const) {
      const res = await send("PUT", at(cap, query), Buffer.from("overwrite attempt"));
      expect(res.status).toBe(400);
      expect(res.text).toContain("TAHOE_ERR_WEB_NOT_WRITABLE");
    }
    const verify = await read(info.verify_uri as string);
    expect(verify.status).toBe(400);
    expect(sha((await read(sdmf.cap)).bytes)).toBe(sha(sdmf.data));
  });
});

describe("mutable files under contention and with a server gone", { timeout: 60_000 }, () => {
  it("two overwrites at once: each is 200 or a 409 collision, and the file holds a whole winner", async () => {
    const cap = (await send("PUT", new URL("uri?format=SDMF", nodeUrl), randomBytes(2000))).text;
    const bodies = [randomBytes(4000), randomBytes(6000)];
    const answers = await Promise.all(bodies.map((body) => send("PUT", at(cap), body)));
    for (const answer of answers) {
      expect([200, 409], answer.text).toContain(answer.status);
      if (answer.status === 409) expect(answer.text).toContain("TAHOE_ERR_MUTABLE_UNCOORDINATED_WRITE");
    }
    const winners = bodies.filter((_, i) => answers[i]!.status === 200).map(sha);
    expect(winners.length).toBeGreaterThan(0);
    // Never a mix of the two, never the old contents when a write answered 200.
    expect(winners).toContain(sha((await read(cap)).bytes));
  });

  it("with one of four servers stopped, a file is still read, overwritten and updated", async () => {
    const data = randomBytes(SEGMENT + 5000);
    const cap = (await send("PUT", new URL("uri?format=MDMF", nodeUrl), data)).text;
    await grid.stop("s4");
    await grid.waitForServers(
      (list) => list.filter((s) => s.connection.state === "connected").length === 3,
      "3 connected servers",
    );
    expect(sha((await read(cap)).bytes)).toBe(sha(data));
    const next = randomBytes(SEGMENT + 9000);
    expect((await send("PUT", at(cap), next)).status).toBe(200);
    const patch = randomBytes(300);
    expect((await send("PUT", at(cap, "?offset=10"), patch)).status).toBe(200);
    patch.copy(next, 10);
    expect(sha((await read(cap)).bytes)).toBe(sha(next));
  });
});

describe("mutable files through tahoe put / tahoe get", { timeout: 60_000 }, () => {
  it("put --mutable and --format=MDMF print write caps; put FILE WRITECAP replaces; get reads", async () => {
    const client = grid.dirs.client!;
    const first = join(grid.root, "first.bin");
    const second = join(grid.root, "second.bin");
    await writeFile(first, randomBytes(70_000));
    await writeFile(second, randomBytes(150_000));
    const ssk = (await tahoeOk(["-d", client, "put", "--mutable", first])).toString().trim();
    expect(ssk).toMatch(/^URI:SSK:/);
    const mdmf = (await tahoeOk(["-d", client, "put", "--format=mdmf", first])).toString().trim();
    expect(mdmf).toMatch(/^URI:MDMF:/);
    for (const cap of [ssk, mdmf]) {
      expect((await tahoeOk(["-d", client, "put", second, cap])).toString().trim()).toBe(cap);
      const out = join(grid.root, `out-${cap.slice(4, 8)}`);
      await tahoeOk(["-d", client, "get", cap, out]);
      expect(sha(await readFile(out))).toBe(sha(await readFile(second)));
      const [, info] = await json(cap);
      const viaReadCap = await tahoeOk(["-d", client, "get", info.ro_uri as string]);
      expect(sha(viaReadCap)).toBe(sha(await readFile(second)));
      const refused = await tahoe(["-d", client, "put", first, info.ro_uri as string]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("answered 400");
      expect(refused.stderr).toContain("read-only cap");
    }
    expect(sha((await read(ssk)).bytes)).toBe(sha(await readFile(second)));
  });

  it("put --mutable --private-key-path=PEM makes the file with that key: the cap follows from it", async () => {
    const client = grid.dirs.client!;
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048, publicExponent: 65537 });
    const pem = join(grid.root, "key.pem");
    await writeFile(pem, privateKey.export({ type: "pkcs8", format: "pem" }));
    const der = privateKey.export({ type: "pkcs8", format: "der" });
    const writekey = base32Encode(taggedHash("allmydata_mutable_privkey_to_writekey_v1", der, 16));
    const file = join(grid.root, "keyed.bin");
    await writeFile(file, randomBytes(1234));
    const cap = (await tahoeOk(["-d", client, "put", "--mutable", `--private-key-path=${pem}`, file]))
      .toString()
      .trim();
    expect(cap.startsWith(`URI:SSK:${writekey}:`)).toBe(true);
    expect(sha((await read(cap)).bytes)).toBe(sha(await readFile(file)));
    const withoutMutable = await tahoe(["-d", client, "put", `--private-key-path=${pem}`, file]);
    expect(withoutMutable.code).toBe(2);
    expect(withoutMutable.stderr).toContain("--private-key-path needs --mutable");
  });
});
