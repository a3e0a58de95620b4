import type { Announcement } from "@lafs/crypto";
import type { Logger } from "@lafs/interface";
import { loadAnnouncementCache, saveAnnouncementCache } from "./cache.js";

/** Where an announcement came from: the introducer's stream, or the cache read at start. */
export type AnnouncementSource = "introducer" | "cache";

export interface ReceivedAnnouncement {
  announcement: Announcement;
  source: AnnouncementSource;
  /** The introducer's petname. */
  petname: string;
  /** Milliseconds since the epoch. */
  receivedAt: number;
}

export interface IntroducerConnectionStatus {
  petname: string;
  /** The NURL with its swissnum hidden. */
  url: string;
  state: "connecting" | "connected" | "disconnected" | "stopped";
  since: number;
  /** The hint of the current connection. */
  hint?: string;
  /** The introducer's application version, from its hello. */
  introducerVersion?: string;
  /** True once the stream delivered every announcement the introducer held. */
  synced: boolean;
  lastError?: { code: string; message: string; at: number };
  lastReceivedAt?: number;
}

export interface AnnouncementStoreOptions {
  petname: string;
  /** The introducer's URL with its secret hidden, for the status. */
  shownUrl: string;
  /** Only announcements of this service are taken from the cache. */
  service: string;
  /** Absolute path of the cache file; none means no cache. */
  cacheFile?: string;
  maxAnnouncementBytes: number;
  log: Logger;
  now: () => number;
  /** Told of each announcement dropped because a newer one of its server is held. */
  onOlder?: (announcement: Announcement) => void;
}

/**
 * The state one introducer client keeps whatever protocol it speaks: the newest announcement per
 * (server, service), the connection status, their listeners, and the cache file kept in step.
 */
export interface AnnouncementStore {
  /** Keeps the newest per (server, service); returns whether anything changed. */
  accept(announcement: Announcement, source: AnnouncementSource): boolean;
  announcements(): ReceivedAnnouncement[];
  status(): IntroducerConnectionStatus;
  setStatus(change: Partial<IntroducerConnectionStatus>): void;
  onAnnouncement(listener: (received: ReceivedAnnouncement) => void): () => void;
  onStatus(listener: (status: IntroducerConnectionStatus) => void): () => void;
  /** Accepts the cached announcements of our service; returns how many the file held. */
  loadCache(): Promise<number>;
  /** Writes any pending cache change now and waits for every write. */
  flushPending(): Promise<void>;
}

const CACHE_DELAY_MS = 100;

export function createAnnouncementStore(options: AnnouncementStoreOptions): AnnouncementStore {
  const { petname, now, log } = options;
  const held = new Map<string, ReceivedAnnouncement>();
  const announcementListeners = new Set<(r: ReceivedAnnouncement) => void>();
  const statusListeners = new Set<(s: IntroducerConnectionStatus) => void>();
  let status: IntroducerConnectionStatus = {
    petname,
    url: options.shownUrl,
    state: "stopped",
    since: now(),
    synced: false,
  };
  let cacheTimer: NodeJS.Timeout | undefined;
  let cacheWrite: Promise<void> = Promise.resolve();

  function setStatus(change: Partial<IntroducerConnectionStatus>): void {
    const stateChanged = change.state !== undefined && change.state !== status.state;
    status = { ...status, ...change, ...(stateChanged ? { since: now() } : {}) };
    for (const listener of statusListeners) listener(status);
  }

  function scheduleCacheWrite(): void {
    if (options.cacheFile === undefined || cacheTimer !== undefined) return;
    cacheTimer = setTimeout(() => {
      cacheTimer = undefined;
      flushCache();
    }, CACHE_DELAY_MS);
  }

  function flushCache(): void {
    const file = options.cacheFile;
    if (file === undefined) return;
    const snapshot = [...held.values()].map((r) => r.announcement);
    cacheWrite = cacheWrite
      .then(() => saveAnnouncementCache(file, snapshot))
      .catch((error: unknown) => log.warn({ err: error, file }, "could not write the announcement cache"));
  }

  /** Tahoe's rules (client.py): ignore duplicates and seqnums that do not go up. */
  function accept(announcement: Announcement, source: AnnouncementSource): boolean {
    const key = `${announcement.serverId} ${announcement.service}`;
    const current = held.get(key);
    if (current !== undefined) {
      const same = current.announcement.signed[0] === announcement.signed[0];
      // The introducer confirming what the cache said moves it to "introducer"; older is ignored.
      if (same && !(current.source === "cache" && source === "introducer")) return false;
      if (!same && announcement.seqnum <= current.announcement.seqnum) {
        options.onOlder?.(announcement);
        return false;
      }
    }
    const received: ReceivedAnnouncement = { announcement, source, petname, receivedAt: now() };
    held.set(key, received);
    for (const listener of announcementListeners) listener(received);
    if (source === "introducer") scheduleCacheWrite();
    return true;
  }

  return {
    accept,
    setStatus,

    announcements() {
      return [...held.values()];
    },

    status() {
      return status;
    },

    onAnnouncement(listener) {
      announcementListeners.add(listener);
      return () => announcementListeners.delete(listener);
    },

    onStatus(listener) {
      statusListeners.add(listener);
      return () => statusListeners.delete(listener);
    },

    async loadCache() {
      if (options.cacheFile === undefined) return 0;
      const { announcements, problems } = await loadAnnouncementCache(
        options.cacheFile,
        options.maxAnnouncementBytes,
      );
      for (const problem of problems) log.warn({ code: problem.code }, problem.message);
      for (const a of announcements) if (a.service === options.service) accept(a, "cache");
      return announcements.length;
    },

    async flushPending() {
      if (cacheTimer !== undefined) {
        clearTimeout(cacheTimer);
        cacheTimer = undefined;
        flushCache();
      }
      await cacheWrite;
    },
  };
}
