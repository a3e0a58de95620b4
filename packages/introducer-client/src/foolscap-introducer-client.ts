import { type Furl, parseFurl, redactUrlSecret } from "@lafs/config";
import { MAX_ANNOUNCEMENT_BYTES, type SignedAnnouncement, verifyAnnouncement } from "@lafs/crypto";
import {
  type BananaValue,
  bytes,
  bytesText,
  connectToTub,
  dictGet,
  type FoolscapConnection,
  FoolscapError,
  INTRODUCER_INTERFACE,
  INTRODUCER_V2,
  isDict,
  isSequence,
  type Referenceable,
  type RemoteReference,
  SUBSCRIBER_INTERFACE,
  signedFromBanana,
  signedToBanana,
  subscriberInfo,
  type TubIdentity,
} from "@lafs/foolscap";
import { isTahoeError, silentLogger } from "@lafs/interface";
import { createAnnouncementStore } from "./announcement-store.js";
import { IntroducerClientError } from "./errors.js";
import { DEFAULT_BACKOFF, type IntroducerClient, type IntroducerClientOptions } from "./introducer-client.js";
import { sleep } from "./wait.js";

export {
  INTRODUCER_INTERFACE,
  INTRODUCER_V2,
  SUBSCRIBER_INTERFACE,
  signedFromBanana,
  signedToBanana,
  subscriberInfo,
};

export interface FoolscapIntroducerClientOptions extends IntroducerClientOptions {
  /** This node's Tub (Tahoe's private/node.pem): the introducer sees its tub id. */
  identity: TubIdentity;
  /** PING after this much silence; default 240 s, as foolscap. */
  keepaliveMs?: number;
}

function violation(message: string): FoolscapError {
  return new FoolscapError("TAHOE_ERR_FOOLSCAP_VIOLATION", message, {
    hint: "the introducer called something this node's subscriber does not offer",
  });
}

function errorSummary(error: unknown): { code: string; message: string } {
  if (isTahoeError(error)) return { code: error.code, message: error.message };
  return { code: "ERROR", message: String((error as Error)?.message ?? error) };
}

/** Rejects when `signal` aborts: a limit on steps that have none of their own. */
function within<T>(promise: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () =>
      reject(
        new IntroducerClientError("TAHOE_ERR_INTRODUCER_CLIENT_UNREACHABLE", `${what}: no answer in time`, {
          hint: "the connection is re-opened automatically",
        }),
      );
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/**
 * An introducer given as a Foolscap fURL (a Tahoe-LAFS grid): the IntroducerClient of a NURL
 * introducer, over Foolscap. On every connection it does what Tahoe 1.20 does (spec §8):
 * getReferenceByName, get_version (which must offer introducer v2), publish_v2 of each of our
 * announcements, then subscribe_v2 with a subscriber the introducer calls `announce_v2` on.
 * Every announcement is verified here; a bad one is dropped and logged, never fatal.
 */
export function createFoolscapIntroducerClient(options: FoolscapIntroducerClientOptions): IntroducerClient {
  let furl: Furl;
  try {
    furl = parseFurl(options.url);
  } catch (error) {
    throw new IntroducerClientError(
      "TAHOE_ERR_INTRODUCER_CLIENT_URL",
      `introducer '${options.petname}': ${(error as Error).message}`,
      { hint: (error as { hint?: string }).hint ?? "give the introducer's fURL", cause: error },
    );
  }
  const petname = options.petname;
  const shownUrl = redactUrlSecret(options.url);
  const label = `'${petname}' (${shownUrl})`;
  const now = options.now ?? Date.now;
  const log = (options.logger ?? silentLogger).child({ component: "introducer-client", introducer: petname });
  const backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
  const service = options.service ?? "storage";
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxBytes = options.maxAnnouncementBytes ?? MAX_ANNOUNCEMENT_BYTES;
  const toPublish = new Map<string, SignedAnnouncement>();
  const store = createAnnouncementStore({
    petname,
    shownUrl,
    service,
    cacheFile: options.cacheFile,
    maxAnnouncementBytes: maxBytes,
    log,
    now,
  });
  const setStatus = store.setStatus;
  let stopController: AbortController | undefined;
  let loop: Promise<void> | undefined;
  let live: { connection: FoolscapConnection; introducer: RemoteReference } | undefined;
  let lastConnection: string | undefined;

  // Kept for the life of the client: foolscap keys references by object, per connection.
  const canary: Referenceable = {
    interfaceName: "",
    callLocal: (method) => {
      throw violation(`the publish canary has no method '${method.slice(0, 60)}'`);
    },
  };
  const subscriber: Referenceable = {
    interfaceName: SUBSCRIBER_INTERFACE,
    callLocal: (method, args) => {
      if (method !== "announce_v2") throw violation(`the subscriber has no method '${method.slice(0, 60)}'`);
      const announcements = args[0];
      if (args.length !== 1 || !isSequence(announcements))
        throw violation("announce_v2 takes one set of announcements");
      for (const item of announcements.items) received(item);
      setStatus({ lastReceivedAt: now() });
      return null;
    },
  };

  function received(item: BananaValue): void {
    const signed = signedFromBanana(item);
    try {
      if (!signed) throw violation("an announcement that is not a tuple of three UTF-8 byte strings");
      const announcement = verifyAnnouncement(signed, { maxBytes });
      if (announcement.service === service) store.accept(announcement, "introducer");
    } catch (error) {
      // One bad announcement (a forgery the introducer let through) must not cost the others.
      log.warn({ err: errorSummary(error) }, "ignoring an announcement from the introducer");
    }
  }

  async function publishOne(
    introducer: RemoteReference,
    connection: FoolscapConnection,
    signed: SignedAnnouncement,
  ) {
    await introducer.callRemote("publish_v2", [signedToBanana(signed), connection.referenceFor(canary)]);
  }

  /** One connection, from dialling to its end; throws why it ended unless `signal` stopped it. */
  async function session(signal: AbortSignal, onConnected: () => void): Promise<void> {
    const setup = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
    const connection = await connectToTub(furl, {
      identity: options.identity,
      connect: options.connect,
      signal: setup,
      timeoutMs,
      lastConnection,
      connection: { keepaliveMs: options.keepaliveMs },
    });
    lastConnection = connection.currentConnection;
    const stop = () => connection.close();
    signal.addEventListener("abort", stop, { once: true });
    try {
      const introducer = await within(
        connection.getReferenceByName(furl.swissnum),
        setup,
        `introducer ${label}`,
      );
      const version = await within(
        introducer.callRemote("get_version"),
        setup,
        `introducer ${label} get_version`,
      );
      if (!isDict(version) || dictGet(version, INTRODUCER_V2) === undefined) {
        throw new IntroducerClientError(
          "TAHOE_ERR_INTRODUCER_CLIENT_PROTOCOL",
          `introducer ${label} does not offer ${INTRODUCER_V2} in its get_version answer`,
          { hint: "the introducer is too old (Tahoe-LAFS before 1.10) or not a Tahoe-LAFS introducer" },
        );
      }
      const appVersion = dictGet(version, "application-version");
      setStatus({
        state: "connected",
        hint: connection.via,
        introducerVersion: appVersion instanceof Uint8Array ? bytesText(appVersion) : "",
        synced: false,
      });
      onConnected();
      live = { connection, introducer };
      for (const [name, signed] of toPublish) {
        try {
          await within(publishOne(introducer, connection, signed), setup, `introducer ${label} publish_v2`);
          log.info({ service: name }, "announcement published");
        } catch (error) {
          if (!connection.isOpen) throw error;
          log.warn({ err: errorSummary(error), service: name }, "publishing failed");
          setStatus({ lastError: { ...errorSummary(error), at: now() } });
        }
      }
      // The introducer answers once its first announce_v2 (everything it holds) has been answered.
      await within(
        introducer.callRemote("subscribe_v2", [
          connection.referenceFor(subscriber),
          bytes(service),
          subscriberInfo(options.nickname, options.myVersion),
        ]),
        setup,
        `introducer ${label} subscribe_v2`,
      );
      setStatus({ synced: true });
      log.info({ peer: connection.peerTubId }, "subscribed to the introducer");
      const reason = await connection.closed;
      if (!signal.aborted) throw reason;
    } finally {
      live = undefined;
      signal.removeEventListener("abort", stop);
      connection.close();
    }
  }

  async function run(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    while (!signal.aborted) {
      setStatus({ state: "connecting" });
      try {
        await session(signal, () => {
          attempt = 0;
        });
      } catch (error) {
        if (signal.aborted) break;
        const summary = errorSummary(error);
        log.warn({ err: summary, attempt }, "introducer connection failed");
        setStatus({ lastError: { ...summary, at: now() } });
      }
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
      await store.loadCache();
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
      const current = live;
      if (current === undefined) return;
      publishOne(current.introducer, current.connection, signed).catch((error: unknown) => {
        if (!current.connection.isOpen) return;
        log.warn({ err: errorSummary(error) }, "publishing failed");
        setStatus({ lastError: { ...errorSummary(error), at: now() } });
      });
    },

    announcements: store.announcements,
    status: store.status,
    onAnnouncement: store.onAnnouncement,
    onStatus: store.onStatus,
  };
}
