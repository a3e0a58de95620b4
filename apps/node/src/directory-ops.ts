import {
  classifyChildCap,
  createDirectory,
  createImmutableDirectory,
  type DirectoryEntry,
  type DirectoryHandle,
  openDirectory,
} from "@lafs/directory";
import type { Logger } from "@lafs/interface";
import type { UploadServer } from "@lafs/storage-client";
import type { WebDirectories, WebDirectory, WebDirectoryChild } from "@lafs/web";

type Encoding = { k: number; happy: number; n: number };

export interface DirectoryOpsOptions {
  leaseSecret: Uint8Array;
  /** private/convergence: identical immutable directories dedupe, as in Tahoe. */
  convergenceSecret: Uint8Array;
  encoding: { read(): Promise<Encoding> };
  /** Servers a write may use (the node's flags applied); throws when a required one is missing. */
  writeServers(encoding: Encoding): Promise<UploadServer[]>;
  readServers(): UploadServer[];
  logger: Logger;
}

function entriesOf(
  children: readonly (WebDirectoryChild & { name: string })[] | undefined,
): DirectoryEntry[] {
  return (children ?? []).map((c) => {
    const info = classifyChildCap(c.writeCap ?? c.readCap ?? "");
    return {
      name: c.name,
      writeCap: c.writeCap,
      readCap: c.readCap ?? info.readCap,
      metadata: c.metadata ?? {},
      kind: info.kind,
      ...(info.mutable === undefined ? {} : { mutable: info.mutable }),
    };
  });
}

/** The web API's view of a handle: a move into another directory passes the real handle on. */
function webHandle(handle: DirectoryHandle): WebDirectory & { handle: DirectoryHandle } {
  return {
    handle,
    cap: handle.cap,
    readCap: handle.readCap,
    verifyCap: handle.verifyCap,
    writable: handle.writable,
    format: handle.format,
    list: () => handle.list(),
    listWithSize: async () => {
      const read = await handle.read();
      return { entries: read.entries, size: read.size ?? 0 };
    },
    get: (name) => handle.get(name),
    set: (name, child, opts) => handle.set(name, child, opts),
    setMany: (children, opts) => handle.setMany(children, opts),
    delete: (name) => handle.delete(name),
    rename: (from, to, opts) =>
      handle.rename(from, to, {
        ...(opts?.replace === undefined ? {} : { replace: opts.replace }),
        ...(opts?.toDirectory === undefined
          ? {}
          : { toDirectory: (opts.toDirectory as WebDirectory & { handle: DirectoryHandle }).handle }),
      }),
  };
}

/**
 * The web API's directories over @lafs/directory: creation goes to the servers a write may use;
 * an opened directory reads and edits through them too, or through every server when the
 * node's flags refuse writes now (it can then still be listed).
 */
export function createDirectoryOps(options: DirectoryOpsOptions): WebDirectories {
  const log = options.logger;
  async function grid(signal: AbortSignal, forWrite: boolean) {
    const encoding = await options.encoding.read();
    let servers: UploadServer[];
    if (forWrite) servers = await options.writeServers(encoding);
    else {
      servers = await options.writeServers(encoding).catch(() => options.readServers());
    }
    return {
      ...encoding,
      servers,
      leaseSecret: options.leaseSecret,
      convergenceSecret: options.convergenceSecret,
      signal,
      logger: log,
    };
  }
  return {
    async create({ format, children, signal }) {
      const made = await createDirectory({
        ...(await grid(signal, true)),
        format,
        children: entriesOf(children),
      });
      log.info({ format }, "directory created");
      return made;
    },
    async createImmutable({ children, signal }) {
      const made = await createImmutableDirectory({
        ...(await grid(signal, true)),
        children: entriesOf(children),
      });
      log.info({ children: children.length }, "immutable directory created");
      return { cap: made.cap };
    },
    async open(cap, { signal }) {
      return webHandle(await openDirectory({ ...(await grid(signal, false)), cap }));
    },
  };
}
