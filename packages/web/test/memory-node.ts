import { createHash } from "node:crypto";
import { formatChkReadCap, formatLiteralCap, parseImmutableCap } from "@lafs/immutable";
import { TahoeError } from "@lafs/interface";
import {
  type ControlFileIssue,
  createSecretGate,
  type WebControl,
  type WebDownload,
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

export function createMemoryNode(): MemoryNode {
  const self: MemoryNode = {
    files: new Map(),
    uploadChunks: [],
    uploadSizes: [],
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
    async openDownload(cap) {
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
