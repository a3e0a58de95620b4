import { createHash, randomBytes } from "node:crypto";
import { formatChkReadCap, formatLiteralCap, parseImmutableCap } from "@lafs/immutable";
import { TahoeError } from "@lafs/interface";
import {
  formatMutableCap,
  MutableError,
  type MutableFormat,
  mutableCapsOf,
  parseMutableCap,
  storageIndexOfCap,
} from "@lafs/mutable";
import {
  type ControlFileIssue,
  createSecretGate,
  type WebControl,
  type WebDownload,
  type WebDownloadOptions,
  type WebMutableFile,
  type WebNode,
  type WebNodeStatus,
} from "../src/index.js";

/**
 * An in-memory stand-in for apps/node's WebNode: files up to 55 bytes get real LIT caps, larger ones a
 * CHK cap whose fields are hashes of the bytes (not a real encoding; this node is the only reader).
 */
export interface MemoryNode extends WebNode {
  files: Map<string, Uint8Array>;
  /** The chunk sizes each upload received, in order. */
  uploadChunks: number[][];
  uploadSizes: (number | undefined)[];
  refuseWith?: TahoeError;
  state: WebNodeStatus;
  /** Downloads yield fresh 256 KiB copies (as the real decoder does) and say so; each is kept here. */
  freshDownloads?: Uint8Array[];
  /** What each openDownload was told, in order. */
  downloadOptions: WebDownloadOptions[];
  /** Mutable files by storage index (hex): their caps, format, contents and sequence number. */
  mutables: Map<string, MemoryMutable>;
  /** Every mutable write, in order: what was asked, of which file. */
  mutableWrites: { op: "create" | "overwrite" | "update"; cap: string; offset?: number; size?: number }[];
  /** Thrown by overwriteMutable/updateMutable, as a collision with another writer would be. */
  collideWith?: TahoeError;
}

export interface MemoryMutable {
  format: MutableFormat;
  writeCap: string;
  readCap: string;
  verifyCap: string;
  data: Uint8Array;
  seqnum: number;
}

export function memoryStatus(): WebNodeStatus {
  return {
    nickname: "alice",
    nodeId: "v0-aaaabbbbccccddddeeeeffffgggghhhhiiiijjjjkkkkllllmmmm",
    version: "lafs-ts/0.0.0",
    startedAt: 1_700_000_000_000,
    introducers: [{ petname: "default", state: "connected", since: 1_700_000_060_000 }],
    servers: [
      {
        id: "v0-server1server1server1server1server1server1server1se",
        nickname: "bob",
        connection: {
          state: "connected",
          hint: "tcp:127.0.0.1:4000",
          handler: "tcp",
          since: 1_700_000_100_000,
        },
        lastReceived: 1_700_000_290_000,
        version: "tahoe-lafs/1.20.0",
        availableSpace: 12_345_678_900,
        learnedFrom: ["default"],
      },
      {
        id: "v0-server2server2server2server2server2server2server2se",
        nickname: "carol",
        connection: {
          state: "disconnected",
          errors: [{ hint: "tor:abc.onion:80", message: "TAHOE_ERR_TRANSPORT_NO_TOR: no tor" }],
        },
        learnedFrom: ["servers.yaml"],
      },
    ],
    storage: { enabled: true, availableSpace: 5_000_000_000 },
    uploads: { ready: true },
    encoding: { k: 3, happy: 7, n: 10 },
  };
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Reads `data` in chunks of `step`, as a real download yields segments. */
async function* chunked(data: Uint8Array, range: { start: number; end: number } | undefined, step: number) {
  const { start, end } = range ?? { start: 0, end: data.length };
  for (let at = start; at < end; at += step) yield data.subarray(at, Math.min(end, at + step));
}

export function createMemoryNode(): MemoryNode {
  function mutableOf(cap: string): MemoryMutable {
    const entry = self.mutables.get(Buffer.from(storageIndexOfCap(parseMutableCap(cap))).toString("hex"));
    if (entry === undefined) {
      throw new MutableError(
        "TAHOE_ERR_MUTABLE_NOT_ENOUGH_SHARES",
        "no shares of this mutable file were found",
        {
          hint: "Connect to the servers that hold the file.",
        },
      );
    }
    return entry;
  }
  const self: MemoryNode = {
    mutables: new Map(),
    mutableWrites: [],
    files: new Map(),
    uploadChunks: [],
    uploadSizes: [],
    downloadOptions: [],
    state: memoryStatus(),
    status: () => self.state,
    async upload(body, options) {
      if (self.refuseWith) throw self.refuseWith;
      const chunks: Uint8Array[] = [];
      const sizes: number[] = [];
      self.uploadChunks.push(sizes);
      self.uploadSizes.push(options.size);
      for await (const chunk of body) {
        chunks.push(chunk);
        sizes.push(chunk.length);
      }
      const data = Buffer.concat(chunks);
      const digest = createHash("sha256").update(data).digest();
      const cap =
        data.length <= 55
          ? formatLiteralCap(data)
          : formatChkReadCap({
              key: digest.subarray(0, 16),
              uebHash: digest,
              k: 3,
              n: 10,
              size: data.length,
            });
      self.files.set(cap, data);
      return { cap };
    },
    async openDownload(cap, options) {
      self.downloadOptions.push(options);
      const parsed = parseImmutableCap(cap);
      const data = self.files.get(cap) ?? (parsed.kind === "lit" ? parsed.data : undefined);
      if (!data) {
        throw new TahoeError(
          "TAHOE_ERR_DOWNLOAD_NOT_ENOUGH_SHARES",
          "no shares of this file were found on 0 servers",
          {
            hint: "Connect to the servers that hold the file.",
          },
        );
      }
      const fresh = self.freshDownloads;
      const download: WebDownload = {
        size: data.length,
        freshChunks: fresh !== undefined,
        async *read(range) {
          const { start, end } = range ?? { start: 0, end: data.length };
          const step = fresh ? 256 * 1024 : 1000;
          // Several chunks, as a real downloader yields segments.
          for (let at = start; at < end; at += step) {
            const chunk = data.subarray(at, Math.min(end, at + step));
            if (fresh === undefined) yield chunk;
            else {
              const copy = new Uint8Array(chunk);
              fresh.push(copy);
              yield copy;
            }
          }
        },
      };
      return download;
    },
    async createMutable(body, options) {
      if (self.refuseWith) throw self.refuseWith;
      const caps = mutableCapsOf(options.format, randomBytes(16), randomBytes(32));
      const entry: MemoryMutable = {
        format: options.format,
        writeCap: formatMutableCap(caps.write),
        readCap: formatMutableCap(caps.read),
        verifyCap: formatMutableCap(caps.verify),
        data: await collect(body),
        seqnum: 1,
      };
      self.mutables.set(Buffer.from(caps.verify.storageIndex).toString("hex"), entry);
      self.mutableWrites.push({ op: "create", cap: entry.writeCap, size: options.size });
      return { cap: entry.writeCap };
    },
    async openMutable(cap) {
      const entry = mutableOf(cap);
      const write = parseMutableCap(cap).kind === "write";
      const file: WebMutableFile = {
        format: entry.format,
        size: entry.data.length,
        readCap: entry.readCap,
        verifyCap: entry.verifyCap,
        writeCap: write ? entry.writeCap : undefined,
        read: (range) => chunked(entry.data, range, 1000),
      };
      return file;
    },
    async overwriteMutable(writeCap, body, options) {
      const entry = mutableOf(writeCap);
      const data = await collect(body);
      if (self.collideWith) throw self.collideWith;
      entry.data = data;
      entry.seqnum += 1;
      self.mutableWrites.push({ op: "overwrite", cap: writeCap, size: options.size });
      return { cap: entry.writeCap };
    },
    async updateMutable(writeCap, offset, body, options) {
      const entry = mutableOf(writeCap);
      if (offset > entry.data.length) {
        throw new MutableError(
          "TAHOE_ERR_MUTABLE_UPDATE",
          `offset ${offset} is past the end of the file (${entry.data.length} bytes)`,
          { hint: "Write at most at the file's size (which appends)." },
        );
      }
      const data = await collect(body);
      if (self.collideWith) throw self.collideWith;
      const next = new Uint8Array(Math.max(entry.data.length, offset + data.length));
      next.set(entry.data);
      next.set(data, offset);
      entry.data = next;
      entry.seqnum += 1;
      self.mutableWrites.push({ op: "update", cap: writeCap, offset, size: options.size });
      return { cap: entry.writeCap };
    },
  };
  return self;
}

/** An in-memory WebControl over a MemoryNode's servers: what apps/node's web-control does with files. */
export interface MemoryControl extends WebControl {
  secret: string | undefined;
  secretWrittenAt: number;
  clock: number;
  saved: { allowed: string[]; required: string[]; newServersAllowed: boolean; shown?: string[] }[];
  flags: Map<string, { allowed: boolean; required: boolean; decided: boolean }>;
  newServersAllowed: boolean;
  issues: ControlFileIssue[];
  enc: { k: number; happy: number; n: number };
  /** Thrown by the save methods, as a broken control-panel.json makes the real one refuse. */
  refuseSaveWith?: TahoeError;
}

export function createMemoryControl(
  node: MemoryNode,
  options: { idleTimeoutMs?: number } = {},
): MemoryControl {
  const self: MemoryControl = {
    secret: "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-x",
    secretWrittenAt: 0,
    clock: 0,
    saved: [],
    flags: new Map(),
    newServersAllowed: true,
    issues: [],
    enc: { k: 3, happy: 7, n: 10 },
    secretMatches: createSecretGate({
      read: async () =>
        self.secret === undefined ? undefined : { secret: self.secret, writtenAt: self.secretWrittenAt },
      retire: async (secret) => {
        if (self.secret === secret) self.secret = undefined;
      },
      idleTimeoutMs: options.idleTimeoutMs,
      now: () => self.clock,
    }),
    async servers() {
      return {
        servers: node.state.servers.map((s) => {
          const f = self.flags.get(s.id);
          return {
            ...s,
            allowed: f?.allowed ?? self.newServersAllowed,
            required: f?.required ?? false,
            decided: f?.decided ?? false,
            listedOnly: false,
            full: false,
          };
        }),
        newServersAllowed: self.newServersAllowed,
        newServersAllowedSource: "default",
        issues: self.issues,
      };
    },
    async saveServers(choice) {
      if (self.refuseSaveWith) throw self.refuseSaveWith;
      self.saved.push(choice);
      self.newServersAllowed = choice.newServersAllowed;
      for (const id of choice.shown ?? node.state.servers.map((s) => s.id)) {
        self.flags.set(id, {
          allowed: choice.allowed.includes(id),
          required: choice.required.includes(id),
          decided: true,
        });
      }
    },
    async encoding() {
      return { ...self.enc, sources: { k: "default", happy: "default", n: "default" } };
    },
    async saveEncoding(e) {
      if (self.refuseSaveWith) throw self.refuseSaveWith;
      if (!(1 <= e.k && e.k <= e.happy && e.happy <= e.n && e.n <= 256)) {
        throw new TahoeError(
          "TAHOE_ERR_WEB_BAD_ENCODING",
          `k=${e.k}, happy=${e.happy}, N=${e.n} break the rule`,
          {
            hint: "1 <= k <= happy <= N <= 256",
          },
        );
      }
      self.enc = { ...e };
    },
  };
  return self;
}
