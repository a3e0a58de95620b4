import type { StaticServer, TcpHandlerChoice } from "@lafs/config";
import { isTahoeError, type Logger, type Startable, silentLogger, TahoeError } from "@lafs/interface";
import { storageInfo } from "./announcement-fields.js";
import type { IntroducerClient, ReceivedAnnouncement } from "./introducer-client.js";

/** Where the node learned of a server. */
export type LearnedFrom =
  | { kind: "static" }
  | { kind: "introducer"; petname: string }
  | { kind: "cache"; petname: string };

export interface HintError {
  hint: string;
  message: string;
  /** Milliseconds since the epoch. */
  at: number;
}

export type ConnectionState =
  /** No probe was given: the list only knows what was announced. */
  | { state: "unknown" }
  | { state: "connecting"; since: number; errors: HintError[] }
  | { state: "connected"; since: number; hint: string; handler: string }
  | { state: "disconnected"; since: number; errors: HintError[] };

export interface ServerInfo {
  serverId: string;
  nickname: string;
  /** `my-version` from the announcement. */
  version: string;
  nurls: string[];
  furl?: string;
  permutationSeedBase32?: string;
  /** The announcement (or servers.yaml `ann`) in use, every key included. */
  announcement: Readonly<Record<string, unknown>>;
  /** Every source that names the server; the first is the one in use (static wins). */
  learnedFrom: LearnedFrom[];
  /** The servers.yaml `connections:` override, for every connection to this server. */
  connections?: { tcp: TcpHandlerChoice };
  connection: ConnectionState;
  /** When data last came from the server (a probe answer, or what noteReceived reports). */
  lastReceivedAt?: number;
  availableSpace?: number;
  /** What the server says it runs, from its version answer. */
  applicationVersion?: string;
}

export interface ProbeResult {
  availableSpace: number;
  applicationVersion: string;
  /** The hint that answered, as text (tcp:HOST:PORT). */
  hint: string;
  /** The transport handler that carried it: tcp, tor, i2p. */
  handler: string;
}

/**
 * Asks one server whether it is alive (GBS `GET /storage/v1/version`, supplied by apps/node
 * since this package may not use the storage client). Throws ServerUnreachableError with one
 * entry per hint when it can, any error otherwise.
 */
export type ProbeFunction = (server: ServerInfo, signal: AbortSignal) => Promise<ProbeResult>;

/** A probe failure with the error of each hint, so the list can show them one by one. */
export class ServerUnreachableError extends TahoeError {
  readonly hintErrors: readonly { hint: string; message: string }[];

  constructor(serverId: string, hintErrors: readonly { hint: string; message: string }[]) {
    super(
      "TAHOE_ERR_INTRODUCER_CLIENT_SERVER_UNREACHABLE",
      `server ${serverId.slice(0, 13)}… did not answer: ${hintErrors.map((h) => `${h.hint}: ${h.message}`).join("; ") || "it has no NURL"}`,
      { hint: "the server is down or unreachable through [connections]; it is tried again every poll" },
    );
    this.hintErrors = hintErrors;
  }
}

export type ServerListEvent =
  | { type: "added" | "updated" | "connected" | "disconnected"; server: ServerInfo }
  | { type: "removed"; serverId: string };

export interface ServerListOptions {
  /** private/servers.yaml entries: they win over announcements for the same server id. */
  staticServers?: readonly StaticServer[];
  probe?: ProbeFunction;
  /** Default 1 s, as Tahoe-LAFS polls. */
  pollIntervalMs?: number;
  /** Default 5 s, as Tahoe-LAFS's timeout. */
  probeTimeoutMs?: number;
  logger?: Logger;
  now?: () => number;
}

export interface ServerList extends Startable {
  /** Follows an introducer's announcements (cached ones included) from now on. */
  addIntroducer(client: IntroducerClient): void;
  servers(): ServerInfo[];
  server(serverId: string): ServerInfo | undefined;
  /**
   * For the uploader and downloader: data came from this server now. A connected server that
   * answered within the poll interval is not probed (its transfers prove it alive); once its
   * answers stop, the next probe runs at most one interval after the last one.
   */
  noteReceived(serverId: string): void;
  onChange(listener: (event: ServerListEvent) => void): () => void;
}

interface Entry {
  info: ServerInfo;
  staticServer?: StaticServer;
  /** Per introducer petname, the newest storage announcement it gave. */
  announced: Map<string, ReceivedAnnouncement>;
  timer?: NodeJS.Timeout;
  probing?: AbortController;
  /** When noteReceived last reported an answer (probe answers are not counted). */
  answeredAt?: number;
}

function fromStatic(s: StaticServer): Omit<ServerInfo, "connection" | "learnedFrom"> {
  const version = s.announcement["my-version"];
  const info: Omit<ServerInfo, "connection" | "learnedFrom"> = {
    serverId: s.serverId,
    nickname: s.nickname ?? "",
    version: typeof version === "string" ? version : "",
    nurls: [...s.storageNurls],
    announcement: s.announcement,
  };
  if (s.storageFurl !== undefined) info.furl = s.storageFurl;
  if (s.permutationSeedBase32 !== undefined) info.permutationSeedBase32 = s.permutationSeedBase32;
  if (s.connections !== undefined) info.connections = s.connections;
  return info;
}

function fromAnnouncement(r: ReceivedAnnouncement): Omit<ServerInfo, "connection" | "learnedFrom"> {
  const a = r.announcement;
  return {
    serverId: a.serverId,
    nickname: a.nickname,
    version: a.myVersion,
    ...storageInfo(a),
    announcement: a.fields,
  };
}

/**
 * The one list of storage servers the node, the uploader and the web pages read: static
 * servers and every introducer's announcements merged per server id, each with its connection
 * state from a periodic probe. Listeners hear of every change.
 */
export function createServerList(options: ServerListOptions = {}): ServerList {
  const now = options.now ?? Date.now;
  const log = (options.logger ?? silentLogger).child({ component: "server-list" });
  const pollMs = options.pollIntervalMs ?? 1000;
  const probeTimeoutMs = options.probeTimeoutMs ?? 5000;
  const entries = new Map<string, Entry>();
  const listeners = new Set<(event: ServerListEvent) => void>();
  const unsubscribers: (() => void)[] = [];
  let running = false;

  function emit(event: ServerListEvent): void {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        log.error({ err: error }, "a server list listener failed");
      }
    }
  }

  /** Rebuilds a server's description from its sources: static first, then the newest announcement. */
  function rebuild(entry: Entry): void {
    const announced = [...entry.announced.values()].sort(
      (a, b) => b.announcement.seqnum - a.announcement.seqnum,
    );
    const learnedFrom: LearnedFrom[] = [];
    if (entry.staticServer) learnedFrom.push({ kind: "static" });
    for (const r of announced) learnedFrom.push({ kind: r.source, petname: r.petname });
    const base = entry.staticServer ? fromStatic(entry.staticServer) : fromAnnouncement(announced[0]!);
    const { connection, lastReceivedAt, availableSpace, applicationVersion } = entry.info;
    entry.info = { ...base, learnedFrom, connection } as ServerInfo;
    if (lastReceivedAt !== undefined) entry.info.lastReceivedAt = lastReceivedAt;
    if (availableSpace !== undefined) entry.info.availableSpace = availableSpace;
    if (applicationVersion !== undefined) entry.info.applicationVersion = applicationVersion;
  }

  function schedule(entry: Entry, delay: number): void {
    if (!running || options.probe === undefined) return;
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => void probeOnce(entry), delay);
    entry.timer.unref?.();
  }

  async function probeOnce(entry: Entry): Promise<void> {
    const probe = options.probe;
    if (!running || probe === undefined || entries.get(entry.info.serverId) !== entry) return;
    const quietFor = now() - (entry.answeredAt ?? Number.NEGATIVE_INFINITY);
    if (entry.info.connection.state === "connected" && quietFor < pollMs) {
      schedule(entry, pollMs - quietFor);
      return;
    }
    const controller = new AbortController();
    entry.probing = controller;
    const timer = setTimeout(
      () => controller.abort(new Error(`no answer within ${probeTimeoutMs} ms`)),
      probeTimeoutMs,
    );
    const before = entry.info.connection;
    try {
      const result = await probe(entry.info, controller.signal);
      if (entries.get(entry.info.serverId) !== entry) return;
      const t = now();
      const wasConnected = before.state === "connected" && before.hint === result.hint;
      entry.info = {
        ...entry.info,
        connection: wasConnected
          ? before
          : { state: "connected", since: t, hint: result.hint, handler: result.handler },
        lastReceivedAt: t,
        availableSpace: result.availableSpace,
        applicationVersion: result.applicationVersion,
      };
      if (!wasConnected) {
        log.info({ server: entry.info.serverId, hint: result.hint }, "server connected");
        emit({ type: "connected", server: entry.info });
      } else emit({ type: "updated", server: entry.info });
    } catch (error) {
      if (entries.get(entry.info.serverId) !== entry || !running) return;
      const t = now();
      const hintErrors =
        error instanceof ServerUnreachableError && error.hintErrors.length > 0
          ? error.hintErrors
          : [
              {
                hint: "*",
                message: controller.signal.aborted
                  ? String((controller.signal.reason as Error)?.message ?? "timed out")
                  : isTahoeError(error) || error instanceof Error
                    ? error.message
                    : String(error),
              },
            ];
      const errors = hintErrors.map((h) => ({ ...h, at: t }));
      const newlyDown = before.state === "connected";
      const since = before.state === "disconnected" ? before.since : t;
      entry.info = { ...entry.info, connection: { state: "disconnected", since, errors } };
      if (newlyDown || before.state !== "disconnected") {
        log.info({ server: entry.info.serverId, errors }, "server not connected");
        emit({ type: "disconnected", server: entry.info });
      }
    } finally {
      clearTimeout(timer);
      entry.probing = undefined;
      if (entries.get(entry.info.serverId) === entry) schedule(entry, pollMs);
    }
  }

  function ensureEntry(serverId: string, make: () => Entry): { entry: Entry; isNew: boolean } {
    const existing = entries.get(serverId);
    if (existing) return { entry: existing, isNew: false };
    const entry = make();
    entries.set(serverId, entry);
    return { entry, isNew: true };
  }

  function initialConnection(): ConnectionState {
    return options.probe === undefined
      ? { state: "unknown" }
      : { state: "connecting", since: now(), errors: [] };
  }

  function onAnnouncement(received: ReceivedAnnouncement): void {
    if (received.announcement.service !== "storage") return;
    const serverId = received.announcement.serverId;
    const { entry, isNew } = ensureEntry(serverId, () => ({
      info: { ...fromAnnouncement(received), learnedFrom: [], connection: initialConnection() },
      announced: new Map(),
    }));
    entry.announced.set(received.petname, received);
    rebuild(entry);
    emit({ type: isNew ? "added" : "updated", server: entry.info });
    if (isNew) schedule(entry, 0);
  }

  for (const s of options.staticServers ?? []) {
    const entry: Entry = {
      info: { ...fromStatic(s), learnedFrom: [{ kind: "static" }], connection: initialConnection() },
      staticServer: s,
      announced: new Map(),
    };
    entries.set(s.serverId, entry);
  }

  return {
    addIntroducer(client) {
      unsubscribers.push(client.onAnnouncement(onAnnouncement));
      for (const received of client.announcements()) onAnnouncement(received);
    },

    servers() {
      return [...entries.values()].map((e) => e.info);
    },

    server(serverId) {
      return entries.get(serverId)?.info;
    },

    noteReceived(serverId) {
      const entry = entries.get(serverId);
      if (entry === undefined) return;
      const t = now();
      entry.answeredAt = t;
      entry.info = { ...entry.info, lastReceivedAt: t };
    },

    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async start() {
      if (running) return;
      running = true;
      for (const entry of entries.values()) schedule(entry, 0);
    },

    async stop() {
      running = false;
      for (const unsubscribe of unsubscribers.splice(0)) unsubscribe();
      for (const entry of entries.values()) {
        clearTimeout(entry.timer);
        entry.probing?.abort(new Error("the server list stopped"));
      }
    },
  };
}
