import type { IncomingMessage } from "node:http";
import { type Nurl, parseNurl, redactUrlSecret } from "@lafs/config";
import { MAX_ANNOUNCEMENT_BYTES, type SignedAnnouncement, verifyAnnouncement } from "@lafs/crypto";
import { isTahoeError, type Logger, type Startable, silentLogger } from "@lafs/interface";
import {
  createAnnouncementStore,
  type IntroducerConnectionStatus,
  type ReceivedAnnouncement,
} from "./announcement-store.js";
import { IntroducerClientError } from "./errors.js";
import { type ConnectFunction, openPinned, readText, requestOver } from "./pinned-https.js";
import { sleep } from "./wait.js";

export type {
  AnnouncementSource,
  IntroducerConnectionStatus,
  ReceivedAnnouncement,
} from "./announcement-store.js";

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
}

export interface IntroducerClientOptions {
  petname: string;
  /** The introducer's NURL from private/introducers.yaml. */
  url: string;
  /** The transport's connector for the introducer. */
  connect: ConnectFunction;
  /** Sent with the subscription, for the introducer's status page. */
  nickname: string;
  myVersion: string;
  /** The service to subscribe to; default "storage". */
  service?: string;
  /** Absolute path of private/introducer_PETNAME_cache.yaml; none means no cache. */
  cacheFile?: string;
  backoff?: Partial<BackoffOptions>;
  /** Connection set-up and publish limit; default 30 s. */
  timeoutMs?: number;
  maxAnnouncementBytes?: number;
  logger?: Logger;
  now?: () => number;
}

export interface IntroducerClient extends Startable {
  readonly petname: string;
  /**
   * Sets the signed announcement to publish for its service (replacing the previous one), sends
   * it now when connected and again after every reconnect.
   */
  publish(signed: SignedAnnouncement): void;
  /** The newest announcement per (server, service), from the cache or the introducer. */
  announcements(): ReceivedAnnouncement[];
  status(): IntroducerConnectionStatus;
  /** Called for every new or newer announcement. Returns the unsubscribe function. */
  onAnnouncement(listener: (received: ReceivedAnnouncement) => void): () => void;
  onStatus(listener: (status: IntroducerConnectionStatus) => void): () => void;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 60_000, factor: 2 };

function errorSummary(error: unknown): { code: string; message: string } {
  if (isTahoeError(error)) return { code: error.code, message: error.message };
  const e = error as { code?: unknown; message?: unknown };
  return { code: typeof e?.code === "string" ? e.code : "ERROR", message: String(e?.message ?? error) };
}

/**
 * One introducer: a streaming subscription that is re-opened with exponential backoff (with
 * jitter) whenever it breaks, the node's own announcements published on every (re)connection,
 * every received announcement verified here (the introducer is not trusted to have done it),
 * and the cache file kept in step.
 */
export function createIntroducerClient(options: IntroducerClientOptions): IntroducerClient {
  let nurl: Nurl;
  try {
    nurl = parseNurl(options.url);
  } catch (error) {
    throw new IntroducerClientError(
      "TAHOE_ERR_INTRODUCER_CLIENT_URL",
      `introducer '${options.petname}': ${(error as Error).message}`,
      { hint: (error as { hint?: string }).hint ?? "give the introducer's NURL", cause: error },
    );
  }
  const petname = options.petname;
  const label = `'${petname}' (${redactUrlSecret(options.url)})`;
  const now = options.now ?? Date.now;
  const log = (options.logger ?? silentLogger).child({ component: "introducer-client", introducer: petname });
  const backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  const service = options.service ?? "storage";
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxBytes = options.maxAnnouncementBytes ?? MAX_ANNOUNCEMENT_BYTES;
  const toPublish = new Map<string, SignedAnnouncement>();
  const store = createAnnouncementStore({
    petname,
    shownUrl: redactUrlSecret(options.url),
    service,
    cacheFile: options.cacheFile,
    maxAnnouncementBytes: maxBytes,
    log,
    now,
    onOlder: (announcement) =>
      log.debug(
        { server: announcement.serverId, seqnum: announcement.seqnum },
        "ignoring an older announcement",
      ),
  });
  const setStatus = store.setStatus;
  let stopController: AbortController | undefined;
  let loop: Promise<void> | undefined;
  let connected = false;

  async function publishOne(signed: SignedAnnouncement, signal: AbortSignal): Promise<void> {
    const pinned = await openPinned(nurl, options.connect, signal, label);
    const response = await requestOver(pinned.socket, {
      method: "POST",
      path: `/${encodeURIComponent(nurl.swissnum)}/v1/publish`,
      body: JSON.stringify({ ann: signed }),
      signal,
    });
    const text = await readText(response);
    if (response.statusCode !== 200) {
      let detail = text.trim().slice(0, 300);
      try {
        const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
        if (body.error?.message) detail = `${body.error.code}: ${body.error.message}`;
      } catch {}
      throw new IntroducerClientError(
        "TAHOE_ERR_INTRODUCER_CLIENT_REFUSED",
        `introducer ${label} refused our announcement (HTTP ${response.statusCode}): ${detail}`,
        {
          hint: "see the introducer's log or status page; the announcement is sent again at the next reconnect",
        },
      );
    }
  }

  async function publishAll(signal: AbortSignal): Promise<void> {
    for (const [name, signed] of toPublish) {
      const limit = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
      try {
        await publishOne(signed, limit);
        log.info({ service: name }, "announcement published");
      } catch (error) {
        if (signal.aborted) return;
        log.warn({ err: errorSummary(error), service: name }, "publishing failed");
        setStatus({ lastError: { ...errorSummary(error), at: now() } });
      }
    }
  }

  function handleLine(line: string, onHello: (version: string, keepaliveMs: number) => void): void {
    let event: {
      type?: unknown;
      ann?: unknown;
      "application-version"?: unknown;
      "keepalive-ms"?: unknown;
      count?: unknown;
    };
    try {
      event = JSON.parse(line);
    } catch {
      throw new IntroducerClientError(
        "TAHOE_ERR_INTRODUCER_CLIENT_PROTOCOL",
        `introducer ${label} sent a line that is not JSON`,
        {
          hint: "the introducer does not speak lafs-introducer-v1; check its NURL",
        },
      );
    }
    setStatus({ lastReceivedAt: now() });
    switch (event.type) {
      case "hello":
        onHello(String(event["application-version"] ?? ""), Number(event["keepalive-ms"] ?? 15_000));
        return;
      case "announcement":
        try {
          const announcement = verifyAnnouncement(event.ann, { maxBytes });
          if (announcement.service === service) store.accept(announcement, "introducer");
        } catch (error) {
          // One bad announcement (a forgery the introducer let through) must not cost the others.
          log.warn({ err: errorSummary(error) }, "ignoring an announcement from the introducer");
        }
        return;
      case "synced":
        setStatus({ synced: true });
        log.info({ count: event.count }, "subscription synced");
        return;
      default:
        return;
    }
  }

  /** Runs one subscription until it breaks; resolves when `signal` stops it. */
  async function subscribeOnce(signal: AbortSignal, onConnected: () => void): Promise<void> {
    const setup = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
    const pinned = await openPinned(nurl, options.connect, setup, label);
    const query = new URLSearchParams({
      service,
      nickname: options.nickname,
      "my-version": options.myVersion,
    });
    let response: IncomingMessage;
    try {
      response = await requestOver(pinned.socket, {
        method: "GET",
        path: `/${encodeURIComponent(nurl.swissnum)}/v1/subscribe?${query}`,
        signal,
      });
    } catch (error) {
      pinned.socket.destroy();
      throw error;
    }
    if (response.statusCode !== 200) {
      const text = await readText(response);
      throw new IntroducerClientError(
        response.statusCode === 404
          ? "TAHOE_ERR_INTRODUCER_CLIENT_REFUSED"
          : "TAHOE_ERR_INTRODUCER_CLIENT_PROTOCOL",
        `introducer ${label} answered the subscription with HTTP ${response.statusCode}${response.statusCode === 404 ? " (wrong swissnum?)" : ""}: ${text.trim().slice(0, 200)}`,
        {
          hint: "check the NURL in private/introducers.yaml against the introducer's private/introducer.furl",
        },
      );
    }
    await new Promise<void>((resolve, reject) => {
      let buffer = "";
      let deadline: NodeJS.Timeout | undefined;
      let keepaliveMs = 15_000;
      const lineLimit = 2 * maxBytes + 4096;
      const finish = (error?: unknown) => {
        clearTimeout(deadline);
        signal.removeEventListener("abort", onAbort);
        response.destroy();
        pinned.socket.destroy();
        if (error === undefined || signal.aborted) resolve();
        else reject(error);
      };
      const armDeadline = () => {
        clearTimeout(deadline);
        // Three missed pings: the introducer or the path to it is gone, even if TCP does not say so.
        deadline = setTimeout(
          () =>
            finish(
              new IntroducerClientError(
                "TAHOE_ERR_INTRODUCER_CLIENT_UNREACHABLE",
                `introducer ${label} sent nothing for ${3 * keepaliveMs} ms`,
                { hint: "the connection is re-opened automatically" },
              ),
            ),
          3 * keepaliveMs,
        );
      };
      const onAbort = () => finish();
      signal.addEventListener("abort", onAbort, { once: true });
      armDeadline();
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        buffer += chunk;
        armDeadline();
        let newline = buffer.indexOf("\n");
        try {
          while (newline >= 0) {
            const line = buffer.slice(0, newline);
            buffer = buffer.slice(newline + 1);
            if (line.trim() !== "") {
              handleLine(line, (version, ms) => {
                if (Number.isFinite(ms) && ms > 0) keepaliveMs = ms;
                armDeadline();
                setStatus({
                  state: "connected",
                  hint: pinned.hint,
                  introducerVersion: version,
                  synced: false,
                });
                onConnected();
              });
            }
            newline = buffer.indexOf("\n");
          }
          if (buffer.length > lineLimit) {
            throw new IntroducerClientError(
              "TAHOE_ERR_INTRODUCER_CLIENT_PROTOCOL",
              `introducer ${label} sent a line longer than ${lineLimit} bytes`,
              { hint: "the introducer does not speak lafs-introducer-v1" },
            );
          }
        } catch (error) {
          finish(error);
        }
      });
      response.once("end", () =>
        finish(
          new IntroducerClientError(
            "TAHOE_ERR_INTRODUCER_CLIENT_UNREACHABLE",
            `introducer ${label} closed the subscription`,
            {
              hint: "the connection is re-opened automatically",
            },
          ),
        ),
      );
      response.once("error", (error) => finish(error));
      response.once("close", () =>
        finish(
          new IntroducerClientError(
            "TAHOE_ERR_INTRODUCER_CLIENT_UNREACHABLE",
            `introducer ${label}: the connection closed`,
            {
              hint: "the connection is re-opened automatically",
            },
          ),
        ),
      );
    });
  }

  async function run(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    while (!signal.aborted) {
      setStatus({ state: "connecting" });
      try {
        await subscribeOnce(signal, () => {
          attempt = 0;
          connected = true;
          log.info({ hint: store.status().hint }, "connected to the introducer");
          void publishAll(signal);
        });
      } catch (error) {
        if (signal.aborted) break;
        const summary = errorSummary(error);
        log.warn({ err: summary, attempt }, "introducer connection failed");
        setStatus({ lastError: { ...summary, at: now() } });
      }
      connected = false;
      if (signal.aborted) break;
      setStatus({ state: "disconnected", synced: false });
      const base = Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** attempt);
      attempt += 1;
      // Jitter, so many clients of a restarted introducer do not come back in step.
      await sleep(base / 2 + Math.random() * (base / 2), signal);
    }
  }

  return {
    petname,

    async start() {
      if (loop !== undefined) return;
      const cached = await store.loadCache();
      if (cached > 0) log.info({ count: cached }, "using cached announcements");
      stopController = new AbortController();
      loop = run(stopController.signal);
    },

    async stop() {
      stopController?.abort();
      await loop;
      loop = undefined;
      await store.flushPending();
      setStatus({ state: "stopped", synced: false });
    },

    publish(signed) {
      const announcement = verifyAnnouncement(signed, { maxBytes });
      toPublish.set(announcement.service, signed);
      if (connected && stopController !== undefined) {
        const signal = stopController.signal;
        publishOne(signed, AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)])).catch(
          (error: unknown) => {
            if (signal.aborted) return;
            log.warn({ err: errorSummary(error) }, "publishing failed");
            setStatus({ lastError: { ...errorSummary(error), at: now() } });
          },
        );
      }
    },

    announcements: store.announcements,
    status: store.status,
    onAnnouncement: store.onAnnouncement,
    onStatus: store.onStatus,
  };
}
