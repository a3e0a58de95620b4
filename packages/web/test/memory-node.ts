import { createHash } from "node:crypto";
import { formatChkReadCap, formatLiteralCap, parseImmutableCap } from "@lafs/immutable";
import { TahoeError } from "@lafs/interface";
import type { WebDownload, WebNode, WebNodeStatus } from "../src/index.js";

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
      const download: WebDownload = {
        size: data.length,
        async *read(range) {
          const { start, end } = range ?? { start: 0, end: data.length };
          // Several chunks, as a real downloader yields segments.
          for (let at = start; at < end; at += 1000) yield data.subarray(at, Math.min(end, at + 1000));
        },
      };
      return download;
    },
  };
  return self;
}
