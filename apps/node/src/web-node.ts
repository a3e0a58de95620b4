import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { readAliases } from "@lafs/config";
import type { ActivityTracker } from "@lafs/control-tub";
import { createSpoolBudget, sharedWorkerPool, spoolStream, streamingConvergentKey } from "@lafs/immutable";
import { isTahoeError, type Logger, TahoeError } from "@lafs/interface";
import type { IntroducerClient, ServerList } from "@lafs/introducer-client";
import { PlacementRefusedError, placeShares } from "@lafs/placement";
import {
  assertRequiredServersKnown,
  openDownload,
  requiredButUnknown,
  type ServerFlags,
  serverFlagsFromFiles,
  uploadImmutable,
  withServerFlags,
} from "@lafs/storage-client";
import {
  createTransferLog,
  type WebNode,
  type WebServerInfo,
  type WebStorageReport,
  type WebTorStatus,
  type WebUploadOptions,
} from "@lafs/web";
import { createCheckOps } from "./check-ops.js";
import { createDirectoryOps } from "./directory-ops.js";
import type { GridClients } from "./grid-clients.js";
import { createMutableOps } from "./mutable-ops.js";
import { nodeSpoolPrefix } from "./spool-cleanup.js";
import { counting, readWithSignal } from "./transfer-streams.js";

/**
 * An upload body up to this size is kept in memory rather than spooled to a file and read back
 * (for a 10 MiB upload the spool's write and read were a tenth of the client's work); a larger
 * one, or one that finds UPLOAD_MEMORY_BUDGET spent by other uploads, moves to the spool file.
 */
export const UPLOAD_MEMORY_MAX = 16 * 1024 * 1024;
/** What all uploads in progress may hold in memory together (see UPLOAD_MEMORY_MAX). */
export const UPLOAD_MEMORY_BUDGET = 32 * 1024 * 1024;

export interface NodeWebNode extends WebNode {
  /** Aborts the uploads in flight (servers get abort) and waits for them to end. */
  abortUploads(): Promise<void>;
}

export interface WebNodeOptions {
  basedir: string;
  nickname: string;
  nodeId: string;
  version: string;
  /** Where uploads are spooled: [node]tempdir, absolute. */
  tempdir: string;
  /** private/secret. */
  leaseSecret: Uint8Array;
  /** private/convergence. */
  convergenceSecret: Uint8Array;
  /** The encoding in effect: control-panel.json, else tahoe.cfg, else 3/7/10; read for every upload. */
  encoding: {
    last(): { k: number; happy: number; n: number };
    read(): Promise<{ k: number; happy: number; n: number }>;
  };
  /** [client]new-servers, the default for servers not yet decided. */
  newServers?: "allowed" | "not-allowed" | undefined;
  maxSegmentSize?: number | undefined;
  /** [client]download.worker: check download hashes on the shared worker pool. */
  downloadWorker?: boolean | undefined;
  storageEnabled: boolean;
  /** The node's own storage server's damage report, when it runs one. */
  storageReport?: (() => WebStorageReport | undefined) | undefined;
  /** The node's Tor state, when it uses Tor. */
  torStatus?: (() => WebTorStatus) | undefined;
  serverList: ServerList;
  introducers: readonly IntroducerClient[];
  clients: GridClients;
  logger: Logger;
  /** Where uploads and downloads in progress show (`tahoe status`). */
  activity?: ActivityTracker | undefined;
  now?: () => number;
}

export function serverInfo(s: ReturnType<ServerList["servers"]>[number]): WebServerInfo {
  const c = s.connection;
  const connection: WebServerInfo["connection"] =
    c.state === "connected"
      ? { state: "connected", since: c.since, hint: c.hint, handler: c.handler }
      : c.state === "unknown"
        ? { state: "connecting" }
        : {
            state: c.state,
            since: c.since,
            errors: c.errors.map((e) => ({ hint: e.hint, message: e.message })),
          };
  const info: WebServerInfo = {
    id: s.serverId,
    nickname: s.nickname,
    connection,
    learnedFrom: s.learnedFrom.map((l) => (l.kind === "static" ? "servers.yaml" : l.petname)),
  };
  if (s.lastReceivedAt !== undefined) info.lastReceived = s.lastReceivedAt;
  const version = s.applicationVersion ?? s.version;
  if (version !== "") info.version = version;
  if (s.availableSpace !== undefined) info.availableSpace = s.availableSpace;
  return info;
}

/**
 * What the web front end calls: the status page data, uploads fed to uploadImmutable and
 * downloads from openDownload, over the servers of the node's server list.
 */
export function createWebNode(options: WebNodeOptions): NodeWebNode {
  const now = options.now ?? Date.now;
  const startedAt = now();
  const log = options.logger.child({ component: "web-node" });
  const inFlight = new Set<{ controller: AbortController; done: Promise<unknown> }>();
  const transfers = createTransferLog({ activity: options.activity });
  const uploadMemory = createSpoolBudget(UPLOAD_MEMORY_BUDGET);
  // status() is synchronous: it uses the flags read last; every upload reads them afresh.
  let flags: ServerFlags | undefined;
  let refreshing = false;

  async function readFlags(): Promise<ServerFlags> {
    const read = await serverFlagsFromFiles(options.basedir, { newServers: options.newServers });
    for (const issue of read.issues) log.warn({ file: issue.file, line: issue.line }, issue.message);
    flags = read;
    return read;
  }

  function refreshFlags(): void {
    if (refreshing) return;
    refreshing = true;
    readFlags()
      .catch((error: unknown) => log.warn({ err: error }, "cannot read servers-allowed/servers-required"))
      .finally(() => {
        refreshing = false;
      });
  }

  function uploadReadiness(): { ready: boolean; reason?: string } {
    const { k, happy, n } = options.encoding.last();
    const servers = options.clients.uploadServers().map((s) => ({ ...s, writable: true }));
    const flagged =
      flags === undefined
        ? servers
        : [...withServerFlags(servers, flags), ...requiredButUnknown(servers, flags)];
    try {
      // Any storage index will do: it only orders the servers, and readiness is about counts.
      const plan = placeShares({ storageIndex: new Uint8Array(16), servers: flagged, k, happy, n });
      const headline = plan.refusals[0];
      if (plan.ok || headline === undefined) return { ready: true };
      return { ready: false, reason: withTorReason(headline.message) };
    } catch (error) {
      return { ready: false, reason: withTorReason((error as Error).message) };
    }
  }

  /** A server as /status names it: its nickname, else the start of its id (Tahoe's short form). */
  function serverName(serverId: string): string {
    const known = options.serverList.servers().find((s) => s.serverId === serverId);
    return known !== undefined && known.nickname !== ""
      ? known.nickname
      : serverId.replace(/^v0-/, "").slice(0, 8);
  }

  /** Servers behind Tor stay unconnected while Tor is broken: say so first, it is the thing to fix. */
  function withTorReason(reason: string): string {
    const tor = options.torStatus?.();
    if (tor === undefined || tor.ready) return reason;
    return `Tor is not ready: ${tor.problem ?? "no reason known"} (${tor.hint ?? "see the Tor section"}); ${reason}`;
  }

  async function runUpload(
    body: AsyncIterable<Uint8Array>,
    signal: AbortSignal,
    size: number | undefined,
    freshChunks: boolean,
  ): Promise<{ cap: string; servers: string[] }> {
    await mkdir(options.tempdir, { recursive: true, mode: 0o700 });
    const encoding = await options.encoding.read();
    // The body is spooled (in memory when small) so the encoder can read it at its own pace;
    // the convergent key is hashed on the way in, so the encoder starts without reading the
    // whole file first.
    const key = streamingConvergentKey(options.convergenceSecret, {
      k: encoding.k,
      n: encoding.n,
      maxSegmentSize: options.maxSegmentSize,
    });
    // The server flags are read while the body arrives, not after it.
    const flagsRead = readFlags();
    flagsRead.catch(() => undefined);
    const source = await spoolStream(body, {
      directory: options.tempdir,
      prefix: nodeSpoolPrefix(),
      name: "upload",
      onChunk: (chunk) => key.update(chunk),
      freeChunks: freshChunks,
      memory: { maxBytes: UPLOAD_MEMORY_MAX, budget: uploadMemory },
      expectedSize: size,
    });
    try {
      if (size !== undefined && source.size !== size) {
        throw new TahoeError(
          "TAHOE_ERR_NODE_UPLOAD_TRUNCATED",
          `the upload body had ${source.size} bytes, not the ${size} its Content-Length announced`,
          { hint: "The client stopped sending early or sent more than it said; send the file again." },
        );
      }
      signal.throwIfAborted();
      const current = await flagsRead;
      const servers = withServerFlags(options.clients.uploadServers(), current);
      assertRequiredServersKnown(servers, current, encoding);
      const result = await uploadImmutable(source, {
        servers,
        leaseSecret: options.leaseSecret,
        convergenceSecret: options.convergenceSecret,
        encryptionKey: key.keyFor(source.size),
        ...encoding,
        maxSegmentSize: options.maxSegmentSize,
        signal,
        logger: log,
      });
      log.info(
        { size: result.size, happiness: result.happiness, failed: result.failedServers.length },
        "upload done",
      );
      return { cap: result.cap, servers: [...result.sharesByServer.keys()].map(serverName) };
    } finally {
      await source.close();
    }
  }

  /**
   * Runs one write to the grid (an upload, a mutable file's create, overwrite or update): shown
   * in `tahoe status` with the body received so far, stopped with the node, logged once.
   */
  async function tracked<T>(
    what: string,
    body: AsyncIterable<Uint8Array>,
    o: WebUploadOptions,
    run: (body: AsyncIterable<Uint8Array>, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const controller = new AbortController();
    const signal = AbortSignal.any([controller.signal, o.signal]);
    const id = randomBytes(4).toString("hex");
    log.info({ upload: id, size: o.size }, `${what} started`);
    // Progress is the body received; encoding and sending follow at the speed of the servers.
    // The transfers page (/status) and the control tub's activity list both see it.
    const activity = transfers.track("upload", o.name ?? `${what} ${id}`, o.size);
    const counted = counting(body, (n) => activity.progress(n));
    const done = run(counted, signal).then(
      (result) => {
        activity.succeeded(result as { cap?: string; servers?: string[] });
        return result;
      },
      (error: unknown) => {
        activity.failed(error, o.signal.aborted);
        throw error;
      },
    );
    const entry = { controller, done: done.catch(() => undefined) };
    inFlight.add(entry);
    try {
      return await done;
    } catch (error) {
      // The spool is gone already (spoolToTempFile and runUpload remove it on any failure).
      if (o.signal.aborted || (isTahoeError(error) && error.code === "TAHOE_ERR_WEB_DISCONNECTED")) {
        log.info({ upload: id }, `${what} cancelled: the HTTP client disconnected`);
      } else if (isTahoeError(error) && error.code.startsWith("TAHOE_ERR_WEB_")) {
        // The client's body was at fault (a form cut short, over the size limit): its page says so.
        log.info({ upload: id, code: error.code }, `${what} refused: the request's body was not acceptable`);
      } else log.warn({ upload: id, err: error }, `${what} failed`);
      throw error;
    } finally {
      inFlight.delete(entry);
    }
  }

  /** A download's chunks, shown in `tahoe status` while they flow. */
  function trackedRead(
    cap: string,
    size: number,
    range: { start: number; end: number } | undefined,
    chunks: AsyncGenerator<Uint8Array, void, undefined>,
    signal?: AbortSignal,
    /** The shares being read now, for /status's "servers used". */
    activeShares?: () => readonly { serverId: string }[],
  ): AsyncGenerator<Uint8Array, void, undefined> {
    const name = cap.replace(/^(URI:[A-Z-]+:[a-z2-7]{4}).*$/s, "$1…");
    const total = range === undefined ? size : range.end - range.start;
    const activity = transfers.track("download", name, total);
    return (async function* () {
      let finished = false;
      try {
        yield* counting(chunks, (n) => {
          activity.progress(n);
          if (activeShares !== undefined)
            activity.usedServers(activeShares().map((s) => serverName(s.serverId)));
        });
        finished = true;
        activity.succeeded();
      } catch (error) {
        finished = true;
        activity.failed(error, signal?.aborted === true);
        throw error;
      } finally {
        // Ended early by the reader (the HTTP client went away): a cancelled download.
        if (!finished) activity.failed(new Error("the client stopped reading"), true);
      }
    })();
  }

  /** Servers a write may use: the node's flags applied, every required server known. */
  async function writeServers(encoding: { k: number; happy: number; n: number }) {
    const current = await readFlags();
    const servers = withServerFlags(options.clients.uploadServers(), current);
    assertRequiredServersKnown(servers, current, encoding);
    return servers;
  }

  /**
   * A mutable write's servers: an upload's, refused while a required server is not connected or
   * not allowed. No happiness test: Tahoe-LAFS's publish needs k shares placed, not happy.
   */
  async function mutableWriteServers(encoding: { k: number; happy: number; n: number }) {
    const servers = await writeServers(encoding);
    const plan = placeShares({
      storageIndex: new Uint8Array(16),
      servers: servers.map((s) => ({ ...s, writable: true })),
      k: encoding.k,
      happy: encoding.k,
      n: encoding.n,
    });
    const required = plan.refusals.filter((r) => r.code.startsWith("TAHOE_ERR_PLACEMENT_REQUIRED_"));
    if (required.length > 0) throw new PlacementRefusedError(required);
    return servers;
  }

  const mutable = createMutableOps({
    leaseSecret: options.leaseSecret,
    encoding: options.encoding,
    writeServers: mutableWriteServers,
    // Reads use every server, as immutable downloads do: servers-allowed is about where shares go.
    readServers: () => options.clients.uploadServers(),
    logger: log,
    tracked,
    trackedRead,
  });

  return {
    status() {
      refreshFlags();
      return {
        nickname: options.nickname,
        nodeId: options.nodeId,
        version: options.version,
        startedAt,
        introducers: options.introducers.map((c) => {
          const s = c.status();
          return { petname: s.petname, state: s.state, since: s.since };
        }),
        servers: options.serverList.servers().map(serverInfo),
        storage: storageStatus(options.storageEnabled, options.storageReport?.()),
        uploads: uploadReadiness(),
        encoding: { ...options.encoding.last() },
        ...(options.torStatus === undefined ? {} : { tor: options.torStatus() }),
      };
    },

    upload: (body, o) =>
      tracked("upload", body, o, (counted, signal) =>
        runUpload(counted, signal, o.size, o.freshChunks === true),
      ),

    async openDownload(cap, o) {
      const download = await openDownload(cap, options.clients.downloadServers(), {
        signal: o.signal,
        logger: log,
        workers: options.downloadWorker === true ? sharedWorkerPool() : false,
        wholeShareBytes: o.partial === true ? 0 : undefined,
        onCorruptShare: (report) =>
          log.warn(
            { server: report.serverId, share: report.shareNumber, reason: report.reason },
            "corrupt share found and reported to its server",
          ),
      });
      return {
        size: download.size,
        // The decoder's plaintext chunks are new buffers, passed through unchanged.
        freshChunks: true,
        read: (range, signal) =>
          trackedRead(cap, download.size, range, readWithSignal(download.read(range), signal), signal, () =>
            download.activeShares(),
          ),
      };
    },

    ...mutable,

    transfers: () => transfers.list(),

    // Read at each visit, so an alias `tahoe create-alias` just made shows on the next reload.
    aliases: async () => [...(await readAliases(options.basedir))].map(([name, cap]) => ({ name, cap })),

    directories: createDirectoryOps({
      leaseSecret: options.leaseSecret,
      convergenceSecret: options.convergenceSecret,
      encoding: options.encoding,
      writeServers: mutableWriteServers,
      readServers: () => options.clients.uploadServers(),
      logger: log,
    }),

    ...createCheckOps({
      leaseSecret: options.leaseSecret,
      encoding: options.encoding,
      readServers: () => options.clients.uploadServers(),
      writeServers: mutableWriteServers,
      logger: log,
    }),

    async abortUploads() {
      const entries = [...inFlight];
      for (const entry of entries) entry.controller.abort(new Error("the node is stopping"));
      await Promise.all(entries.map((e) => e.done));
    },
  };
}

function storageStatus(
  enabled: boolean,
  report: WebStorageReport | undefined,
): ReturnType<WebNode["status"]>["storage"] {
  return report === undefined ? { enabled } : { enabled, report };
}
