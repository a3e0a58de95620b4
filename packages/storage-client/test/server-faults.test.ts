import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { type AddressInfo, createServer, type Server, Socket } from "node:net";
import { base32Encode } from "@lafs/crypto";
import { bytesSource } from "@lafs/immutable";
import type { Logger } from "@lafs/interface";
import { permutationSeedFor } from "@lafs/placement";
import { encode as encodeCbor } from "cbor2";
import { afterEach, describe, expect, it } from "vitest";
import {
  createStorageClient,
  isUploadError,
  openDownload,
  type UploadServer,
  uploadImmutable,
} from "../src/index.js";
import { type CborValue, decodeBody as decodeCbor } from "../src/messages.js";
import { rejectsWith, reply, startFakeServer, versionBody } from "./helpers.js";
import { type Grid, type GridNode, startGrid, testBytes } from "./uploader-grid.js";

/**
 * Servers that fail or lie: a server that answers 507 (full), and one that stops answering
 * (a TCP relay in front of a real storage server that freezes, as a SIGSTOPped process would).
 */

const SI = "i5nhq74zw2crkop634ra4hrvzm";
const CBOR = "application/cbor";
const leaseSecret = new Uint8Array(32).fill(7);
const convergenceSecret = new Uint8Array(16).fill(8);
const FULL_BODY = "storage server is full: no space left on device while writing share 0";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface LogLine {
  level: string;
  fields: Record<string, unknown>;
  message: string | undefined;
}

/** A logger that keeps every line, with the bindings of its children. */
function recordingLogger(lines: LogLine[], bindings: Record<string, unknown> = {}): Logger {
  const at =
    (level: string) =>
    (fields: Record<string, unknown> | string, message?: string): void => {
      if (typeof fields === "string") lines.push({ level, fields: bindings, message: fields });
      else lines.push({ level, fields: { ...bindings, ...fields }, message });
    };
  return {
    trace: at("trace"),
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    fatal: at("fatal"),
    child: (more) => recordingLogger(lines, { ...bindings, ...more }),
  };
}

/**
 * A GBS server over real HTTPS that reports plenty of room and allocates whatever it is asked
 * for, then answers every PATCH with 507, as a server whose disk filled up does.
 */
async function startFullServer() {
  return startFakeServer((req, res) => {
    if (req.url === "/storage/v1/version") return reply(res, 200, versionBody(2 ** 40), CBOR);
    if (req.url.endsWith("/shares")) return reply(res, 200, encodeCbor(new Set([])), CBOR);
    if (req.method === "POST" && req.url.startsWith("/storage/v1/immutable/")) {
      const asked = decodeCbor(req.body) as Map<CborValue, CborValue>;
      const wanted = [...(asked.get("share-numbers") as Set<number>)];
      return reply(res, 200, encodeCbor({ "already-have": new Set([]), allocated: new Set(wanted) }), CBOR);
    }
    if (req.method === "PATCH") return reply(res, 507, FULL_BODY, "text/plain; charset=utf-8");
    if (req.url.endsWith("/abort")) return reply(res, 200);
    reply(res, 404, "not found");
  });
}

describe("a storage server answering 507", () => {
  it("is SERVER_FULL saying 'server X is full', logged at WARN in those words", async () => {
    const server = await startFakeServer((_req, res) => reply(res, 507, FULL_BODY, "text/plain"));
    const lines: LogLine[] = [];
    const label = "'s1' (v0-abcdefgh…)";
    const client = createStorageClient({ nurl: server.nurl, label, logger: recordingLogger(lines) });
    cleanups.push(
      () => server.close(),
      () => client.close(),
    );
    const request = {
      shareNumbers: [0],
      allocatedSize: 1000,
      uploadSecret: new Uint8Array(20).fill(3),
      renewSecret: new Uint8Array(32).fill(1),
      cancelSecret: new Uint8Array(32).fill(2),
    };
    const allocate = await rejectsWith(client.allocate(SI, request), "TAHOE_ERR_STORAGE_CLIENT_SERVER_FULL");
    expect(allocate.status).toBe(507);
    expect(allocate.message).toContain(`server ${label} is full`);
    expect(allocate.message).toContain(FULL_BODY);
    const write = await rejectsWith(
      client.write(SI, 0, 0, new Uint8Array(10), request.uploadSecret),
      "TAHOE_ERR_STORAGE_CLIENT_SERVER_FULL",
    );
    expect(write.message).toMatch(
      /write immutable share .*: server 's1' \(v0-abcdefgh…\) is full \(HTTP 507/,
    );
    const warnings = lines.filter((l) => l.level === "warn");
    expect(warnings.map((l) => l.message)).toEqual([`server ${label} is full`, `server ${label} is full`]);
    expect(warnings[1]!.fields.operation).toMatch(/^write immutable share /);
  });

  describe("during an upload", () => {
    async function gridWithFullServer(): Promise<{ grid: Grid; full: UploadServer; lines: LogLine[] }> {
      const grid = await startGrid(4);
      const fake = await startFullServer();
      const lines: LogLine[] = [];
      const id = `v0-${base32Encode(randomBytes(32))}`;
      const label = `'full' (${id.slice(0, 11)}…)`;
      const client = createStorageClient({ nurl: fake.nurl, label, logger: recordingLogger(lines) });
      cleanups.push(
        () => grid.close(),
        () => fake.close(),
        () => client.close(),
      );
      const full: UploadServer = {
        id,
        nickname: "full",
        permutationSeed: permutationSeedFor(id),
        leaseSeed: randomBytes(20),
        client,
        connected: true,
      };
      return { grid, full, lines };
    }

    it("re-places the full server's share and succeeds while happiness holds", async () => {
      const { grid, full, lines } = await gridWithFullServer();
      const data = testBytes(300_000, 21);
      const result = await uploadImmutable(bytesSource(data), {
        servers: [...grid.servers(), full],
        leaseSecret,
        convergenceSecret,
        k: 2,
        happy: 4,
        n: 5,
      });
      expect(result.happiness).toBe(4);
      expect(result.sharesByServer.has(full.id)).toBe(false);
      expect(result.failedServers.map((f) => f.id)).toEqual([full.id]);
      expect(result.failedServers[0]!.reason).toContain("'full' (v0-");
      expect(result.failedServers[0]!.reason).toContain("is full");
      // Every one of the five shares is on a real server: the full server's went elsewhere.
      const held = [...result.sharesByServer.values()].flat().sort();
      expect(held).toEqual([0, 1, 2, 3, 4]);
      expect(
        lines.some((l) => l.level === "warn" && /^server 'full' .* is full$/.test(l.message ?? "")),
      ).toBe(true);
      const download = await openDownload(result.cap, grid.servers());
      expect((await download.readAll()).equals(data)).toBe(true);
    });

    it("fails naming the full server when happiness needs it", async () => {
      const { grid, full } = await gridWithFullServer();
      const error = await uploadImmutable(bytesSource(testBytes(300_000, 22)), {
        servers: [...grid.servers(), full],
        leaseSecret,
        convergenceSecret,
        k: 2,
        happy: 5,
        n: 5,
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isUploadError(error, "TAHOE_ERR_UPLOAD_UNHAPPY")).toBe(true);
      const message = (error as Error).message;
      expect(message).toMatch(/server 'full' \(v0-[a-z2-7]{8}…\) is full/);
      expect(message).toMatch(/'full' \(v0-[a-z2-7]{8}…\) is read-only or full/);
      // No share was left half-written on the real servers.
      for (const node of grid.nodes) expect(await node.incoming()).toEqual([]);
    });
  });
});

/** A TCP relay to a real server that can freeze: bytes stop flowing both ways, nothing closes. */
async function startFreezableRelay(targetPort: number) {
  const sockets: Socket[] = [];
  let frozen = false;
  const server: Server = createServer((inbound) => {
    const outbound = new Socket();
    outbound.connect(targetPort, "127.0.0.1");
    sockets.push(inbound, outbound);
    inbound.on("data", (chunk: Buffer) => {
      if (!frozen) outbound.write(chunk);
    });
    outbound.on("data", (chunk: Buffer) => {
      if (!frozen) inbound.write(chunk);
    });
    const end = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on("error", end).on("close", end);
    outbound.on("error", end).on("close", end);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    freeze() {
      frozen = true;
    },
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, "close");
    },
  };
}

describe("a storage server that stops answering", () => {
  /**
   * Grid of `count` real servers; `hang(node)` puts that one behind a relay that can freeze, and
   * `servers()` then reaches it through the relay, with a `lost` signal the test aborts as the
   * node's liveness probe would.
   */
  async function gridWithHangingServer(count: number) {
    const grid = await startGrid(count);
    cleanups.push(() => grid.close());
    const lost = new AbortController();
    const hang = async (node: GridNode) => {
      const relay = await startFreezableRelay(node.port);
      const relayed = createStorageClient({ nurl: node.nurl.replace(`:${node.port}/`, `:${relay.port}/`) });
      // Cleanups run last first: the relay goes before the client, whose close waits for its calls.
      cleanups.push(
        () => relayed.close(),
        () => relay.close(),
      );
      const servers = (): UploadServer[] =>
        grid.servers().map((s) => (s.id === node.id ? { ...s, client: relayed, lost: lost.signal } : s));
      return { relay, servers };
    };
    return { grid, lost, hang };
  }

  /** The node holding share `shareNumber` of an upload. */
  const holderOf = (grid: Grid, up: { uploadedShares: ReadonlyMap<string, readonly number[]> }, sn: number) =>
    grid.nodes.find((n) => up.uploadedShares.get(n.id)?.includes(sn))!;

  /**
   * Uploads `data` to a grid of five (k=3, N=5, 128 KiB segments), then puts the node holding
   * share 0 behind a relay that can freeze.
   */
  async function uploadThenHangShare0(data: Buffer) {
    const { grid, lost, hang } = await gridWithHangingServer(5);
    const up = await uploadImmutable(bytesSource(data), {
      servers: grid.servers(),
      leaseSecret,
      convergenceSecret,
      k: 3,
      happy: 5,
      n: 5,
      maxSegmentSize: 128 * 1024,
    });
    const node0 = holderOf(grid, up, 0);
    return { up, node0, lost, ...(await hang(node0)) };
  }

  it("download: the liveness probe's verdict switches shares at once", async () => {
    const data = testBytes(2_000_000, 31);
    const { up, node0, lost, relay, servers } = await uploadThenHangShare0(data);
    // Not read whole at open, so the blocks are still to be read when the server freezes.
    const download = await openDownload(up.cap, servers(), { readIdleTimeoutMs: 60_000, wholeShareBytes: 0 });
    expect(download.activeShares().map((a) => a.serverId)).toContain(node0.id);
    relay.freeze();
    const started = Date.now();
    setTimeout(() => lost.abort(new Error("probe failed")), 200);
    expect((await download.readAll()).equals(data)).toBe(true);
    // The idle timeout is 60 s here: only the lost signal can have ended the stalled read.
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(download.activeShares().map((a) => a.serverId)).not.toContain(node0.id);
    expect(download.corruptShares()).toEqual([]);
  });

  it("download: a read that gets nothing for the idle timeout switches shares", async () => {
    const data = testBytes(1_000_000, 32);
    const { up, node0, relay, servers } = await uploadThenHangShare0(data);
    const download = await openDownload(up.cap, servers(), { readIdleTimeoutMs: 300, wholeShareBytes: 0 });
    expect(download.activeShares().map((a) => a.serverId)).toContain(node0.id);
    relay.freeze();
    expect((await download.readAll()).equals(data)).toBe(true);
    expect(download.activeShares().map((a) => a.serverId)).not.toContain(node0.id);
  });

  it("upload: the liveness probe's verdict drops the server and its share goes elsewhere", async () => {
    const { grid, lost, hang } = await gridWithHangingServer(5);
    const node0 = grid.nodes[0]!;
    const { relay, servers } = await hang(node0);
    const data = testBytes(6_000_000, 33);
    let frozenAt = 0;
    const upload = uploadImmutable(bytesSource(data), {
      servers: servers(),
      leaseSecret,
      convergenceSecret,
      k: 3,
      happy: 4,
      n: 5,
    });
    // Freeze once the upload reaches the server, then let the "probe" notice.
    for (;;) {
      if ((await node0.incoming()).length > 0) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    relay.freeze();
    frozenAt = Date.now();
    setTimeout(() => lost.abort(new Error("probe failed")), 200);
    const result = await upload;
    expect(Date.now() - frozenAt).toBeLessThan(30_000);
    expect(result.failedServers.map((f) => f.id)).toEqual([node0.id]);
    expect(result.failedServers[0]!.reason).toContain("stopped answering");
    expect(result.sharesByServer.has(node0.id)).toBe(false);
    expect(result.happiness).toBeGreaterThanOrEqual(4);
    const download = await openDownload(result.cap, grid.servers().slice(1));
    expect((await download.readAll()).equals(data)).toBe(true);
  });
});
