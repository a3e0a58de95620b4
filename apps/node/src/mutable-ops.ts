import type { Logger } from "@lafs/interface";
import {
  createMutableFile,
  openMutableFile,
  overwriteMutableFile,
  type UploadServer,
  updateMutableFile,
} from "@lafs/storage-client";
import type { WebNode, WebUploadOptions } from "@lafs/web";
import { readWithSignal } from "./transfer-streams.js";

type Encoding = { k: number; happy: number; n: number };

export interface MutableOpsOptions {
  /** private/secret: the root of every lease secret and write enabler's lease half. */
  leaseSecret: Uint8Array;
  /** The encoding for new files; an existing file keeps its own k and N. */
  encoding: { read(): Promise<Encoding> };
  /** Servers a write may use (the node's flags applied). */
  writeServers(encoding: Encoding): Promise<UploadServer[]>;
  readServers(): UploadServer[];
  logger: Logger;
  /** Runs a write as web-node runs uploads: tracked in `tahoe status`, stopped with the node. */
  tracked<T>(
    what: string,
    body: AsyncIterable<Uint8Array>,
    o: WebUploadOptions,
    run: (body: AsyncIterable<Uint8Array>, signal: AbortSignal) => Promise<T>,
  ): Promise<T>;
  trackedRead(
    cap: string,
    size: number,
    range: { start: number; end: number } | undefined,
    chunks: AsyncGenerator<Uint8Array, void, undefined>,
  ): AsyncGenerator<Uint8Array, void, undefined>;
}

type MutableOps = Pick<WebNode, "createMutable" | "openMutable" | "overwriteMutable" | "updateMutable">;

/**
 * The web API's mutable-file calls over storage-client's servermap, publish and retrieve. The
 * body is handed on as it arrives: publish gathers it (it encodes a version in memory, as
 * Tahoe-LAFS does, and refuses one over its size cap as soon as the bytes pass it).
 */
export function createMutableOps(options: MutableOpsOptions): MutableOps {
  const log = options.logger;

  async function grid(signal: AbortSignal, servers: (encoding: Encoding) => Promise<UploadServer[]>) {
    const encoding = await options.encoding.read();
    return {
      ...encoding,
      servers: await servers(encoding),
      leaseSecret: options.leaseSecret,
      signal,
      logger: log,
    };
  }
  const forWrite = (signal: AbortSignal) => grid(signal, options.writeServers);

  return {
    createMutable: (body, o) =>
      options.tracked(`${o.format} create`, body, o, async (contents, signal) => {
        const created = await createMutableFile({
          ...(await forWrite(signal)),
          format: o.format,
          contents,
          size: o.size,
          privateKey: o.privateKey,
        });
        log.info({ format: created.format }, "mutable file created");
        return { cap: created.writeCap };
      }),

    async openMutable(cap, o) {
      const file = await openMutableFile({
        ...(await grid(o.signal, async () => options.readServers())),
        cap,
      });
      return {
        format: file.format,
        size: file.size,
        writeCap: file.writeCap,
        readCap: file.readCap,
        verifyCap: file.verifyCap,
        read: (range, signal) =>
          options.trackedRead(cap, file.size, range, readWithSignal(file.read(range, signal), signal)),
      };
    },

    overwriteMutable: (writeCap, body, o) =>
      options.tracked("mutable overwrite", body, o, async (contents, signal) => {
        const { seqnum } = await overwriteMutableFile({
          ...(await forWrite(signal)),
          writeCap,
          contents,
          size: o.size,
        });
        log.info({ seqnum: Number(seqnum) }, "mutable file overwritten");
        return { cap: writeCap };
      }),

    updateMutable: (writeCap, offset, body, o) =>
      options.tracked("mutable update", body, o, async (contents, signal) => {
        const result = await updateMutableFile({
          ...(await forWrite(signal)),
          writeCap,
          offset,
          contents,
          size: o.size,
        });
        log.info({ seqnum: Number(result.seqnum), offset, size: result.size }, "mutable file updated");
        return { cap: writeCap };
      }),
  };
}
