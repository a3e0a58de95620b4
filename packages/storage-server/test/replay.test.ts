import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer, uncbor } from "./helpers.js";

// A real Tahoe-LAFS 1.20 client's requests to four real Tahoe-LAFS storage servers,
// recorded on the server side (shared/vectors/gbs-transcript.md), replayed against ours.
const VECTORS = join(import.meta.dirname, "../../../../shared/vectors");

interface Body {
  length: number;
  sha256: string;
  base64?: string;
  truncated?: boolean;
}
interface Exchange {
  seq: number;
  node: string;
  phase: string;
  method: string;
  path: string;
  request_headers: [string, string][];
  request_body: Body;
  response_status: number;
  response_headers: [string, string][];
  response_body: Body;
}

const exchanges: Exchange[] = readFileSync(join(VECTORS, "gbs-transcript.jsonl"), "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "")
  .map((line) => JSON.parse(line));

const swissnums = new Map(
  [
    ...readFileSync(join(VECTORS, "gbs-transcript.md"), "utf8").matchAll(
      /^\s+(storage\d) pb:\/\/[^/]+\/([a-z2-7]+)#v=1$/gm,
    ),
  ].map((m) => [m[1]!, m[2]!]),
);

const header = (list: [string, string][], name: string) =>
  list.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
const storageIndexOf = (path: string) => /\/(?:immutable|mutable|lease)\/([a-z2-7]{26})/.exec(path)?.[1];

describe("replay of a Tahoe-LAFS 1.20 client's GBS transcript", () => {
  const servers = new Map<string, TestServer>();
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lafs-replay-"));
    expect([...swissnums.keys()].sort()).toEqual(["storage1", "storage2", "storage3", "storage4"]);
    for (const [node, swissnum] of swissnums) {
      servers.set(node, await startTestServer({ swissnum }, join(dir, node)));
    }
  });
  afterAll(async () => {
    for (const s of servers.values()) await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("gives the recorded status, headers and CBOR for every exchange whose request is complete", async () => {
    // A PATCH whose body was truncated in the log cannot be re-sent, so that share never
    // completes here; later exchanges about the same storage index on that node are skipped.
    const skippedIndexes = new Set<string>();
    const replayed: number[] = [];
    const skipped: number[] = [];
    for (const x of exchanges) {
      const si = storageIndexOf(x.path);
      const key = `${x.node}/${si}`;
      if (x.request_body.truncated || (si !== undefined && skippedIndexes.has(key))) {
        if (si !== undefined) skippedIndexes.add(key);
        skipped.push(x.seq);
        continue;
      }
      const server = servers.get(x.node)!;
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of x.request_headers) {
        if (["host", "content-length"].includes(name.toLowerCase())) continue;
        const existing = headers[name];
        headers[name] = existing === undefined ? value : [...[existing].flat(), value];
      }
      const body = x.request_body.length > 0 ? Buffer.from(x.request_body.base64!, "base64") : undefined;
      const r = await server.request(x.method, x.path, { headers, ...(body ? { body } : {}) });
      const what = `seq ${x.seq} (${x.phase}) ${x.method} ${x.path}`;

      expect(r.status, what).toBe(x.response_status);
      const recordedType = header(x.response_headers, "Content-Type");
      if (recordedType !== undefined) expect(r.headers["content-type"], what).toBe(recordedType);
      else expect(r.headers["content-type"] ?? "", what).not.toContain("cbor");
      expect(r.headers["content-range"], what).toBe(header(x.response_headers, "Content-Range"));
      if (header(x.response_headers, "Connection") === "close")
        expect(r.headers.connection, what).toBe("close");

      const recorded = x.response_body;
      if (x.path === "/storage/v1/version" && x.response_status === 200) {
        expectSameVersionShape(r.body, Buffer.from(recorded.base64!, "base64"), what);
      } else if (recorded.truncated) {
        expect(r.body.length, what).toBe(recorded.length);
        expect(r.body.subarray(0, 256).toString("base64"), what).toBe(
          (recorded as unknown as { head_base64: string }).head_base64,
        );
      } else {
        // Everything else is byte-identical: CBOR as Tahoe's cbor2 encodes it, share bytes, error text.
        expect(createHash("sha256").update(r.body).digest("hex"), `${what}: ${r.body.toString("hex")}`).toBe(
          recorded.sha256,
        );
      }
      replayed.push(x.seq);
    }
    // 4 truncated PATCHes of the big upload, then per node its later reads and re-upload allocate.
    expect(skipped).toEqual([
      33, 34, 35, 36, 43, 44, 45, 46, 47, 48, 49, 50, 51, 60, 61, 62, 63, 64, 65, 66, 67,
    ]);
    expect(replayed.length).toBe(exchanges.length - skipped.length);
  });
});

/** The version map: byte-string keys, the same keys and value types; space figures differ per machine. */
function expectSameVersionShape(ours: Buffer, theirs: Buffer, what: string): void {
  const shape = (value: unknown): unknown => {
    if (value instanceof Map) {
      return [...value].map(([k, v]) => [
        k instanceof Uint8Array ? `b:${Buffer.from(k).toString()}` : k,
        shape(v),
      ]);
    }
    if (value instanceof Uint8Array) return "bytes";
    return typeof value === "bigint" ? String(value) : typeof value;
  };
  const a = uncbor(ours) as Map<Uint8Array, unknown>;
  const b = uncbor(theirs) as Map<Uint8Array, unknown>;
  expect(shape(a), what).toEqual(shape(b));
}
