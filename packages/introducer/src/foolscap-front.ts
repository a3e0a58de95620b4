import type { Duplex } from "node:stream";
import { type Announcement, constantTimeEqual, verifyAnnouncement } from "@lafs/crypto";
import {
  acceptTubConnection,
  type BananaValue,
  bytes,
  bytesText,
  dict,
  dictGet,
  type FoolscapConnection,
  FoolscapError,
  INTRODUCER_INTERFACE,
  INTRODUCER_V2,
  isDict,
  type MyReference,
  type Referenceable,
  type RemoteReference,
  SUBSCRIBER_INTERFACE,
  set,
  signedFromBanana,
  signedToBanana,
  type TubIdentity,
} from "@lafs/foolscap";
import { isTahoeError, type Logger } from "@lafs/interface";
import { IntroducerError } from "./errors.js";
import type { IntroducerLimits, Registry } from "./registry.js";
import type { SubscriberInfo } from "./status-page.js";

/**
 * The introducer as Tahoe-LAFS nodes see it: Foolscap on the same port as the HTTPS protocol,
 * serving RIIntroducerPublisherAndSubscriberService_v2 at the swissnum of private/introducer.furl
 * (spec §9.3, server.py). It shares the registry with the HTTPS side, so each kind of node gets
 * the other's announcements.
 */
export interface FoolscapFrontOptions {
  swissnum: string;
  identity: TubIdentity;
  /** The introducer's fURL, sent with the first reference to the service (as foolscap does). */
  furl: string;
  registry: Registry;
  limits: IntroducerLimits;
  applicationVersion: string;
  log: Logger;
  now: () => number;
  /** Every announcement the registry accepted, to be handed to subscribers of both kinds. */
  accepted: (announcement: Announcement) => void;
  refused: (code: string) => void;
  /** Subscribers of the other kind, so maxSubscribers counts both. */
  otherSubscribers: () => number;
}

export interface FoolscapFront {
  /** Serves one inbound connection whose first bytes are not TLS (a Foolscap upgrade request). */
  accept(socket: Duplex, from: string): void;
  /** Calls announce_v2 on every Foolscap subscriber of the announcement's service. */
  announce(announcement: Announcement): void;
  subscribers(): SubscriberInfo[];
  subscriberCount(): number;
  stop(): void;
}

interface Subscription extends SubscriberInfo {
  connection: FoolscapConnection;
  clid: number;
  remote: RemoteReference;
  /** announce_v2 calls not yet answered: a subscriber that stops answering is cut off. */
  unanswered: number;
}

/** A subscriber this far behind in answering announce_v2 is disconnected; it reconnects and resyncs. */
const MAX_UNANSWERED = 64;
/** Peers whose `current-connection` seqnum is remembered (foolscap keeps all; we bound it). */
const MAX_REMEMBERED_PEERS = 10_000;

function violation(message: string): FoolscapError {
  return new FoolscapError("TAHOE_ERR_FOOLSCAP_VIOLATION", message, {
    hint: "the call does not fit RIIntroducerPublisherAndSubscriberService_v2 (Tahoe-LAFS 1.20's introducer)",
  });
}

function isMyReference(value: BananaValue | undefined): value is MyReference {
  return (
    typeof value === "object" &&
    value !== null &&
    !(value instanceof Uint8Array) &&
    value.kind === "my-reference"
  );
}

function text(value: BananaValue | undefined, max = 200): string {
  if (typeof value === "string") return value.slice(0, max);
  if (value instanceof Uint8Array) return bytesText(value.subarray(0, max));
  return "";
}

export function createFoolscapFront(options: FoolscapFrontOptions): FoolscapFront {
  const { registry, limits, log, now } = options;
  const expected = Buffer.from(options.swissnum, "utf8");
  const connections = new Map<string, FoolscapConnection>();
  const subscriptions = new Set<Subscription>();
  const seqnums = new Map<string, number>();
  const pending = new Set<Duplex>();

  function nextSeqnum(peerTubId: string): number {
    if (seqnums.size >= MAX_REMEMBERED_PEERS && !seqnums.has(peerTubId)) seqnums.clear();
    const n = (seqnums.get(peerTubId) ?? 0) + 1;
    seqnums.set(peerTubId, n);
    return n;
  }

  function send(subscription: Subscription, announcements: readonly Announcement[]): Promise<void> {
    if (subscription.unanswered >= MAX_UNANSWERED) {
      log.warn(
        { from: subscription.from },
        "Foolscap subscriber does not answer announce_v2; disconnecting it",
      );
      subscription.connection.close();
      return Promise.resolve();
    }
    subscription.unanswered += 1;
    return subscription.remote
      .callRemote("announce_v2", [set(...announcements.map((a) => signedToBanana(a.signed)))])
      .then(
        () => undefined,
        (error: unknown) => {
          if (subscription.connection.isOpen) {
            log.warn(
              { from: subscription.from, err: isTahoeError(error) ? error.message : String(error) },
              "a Foolscap subscriber refused announce_v2",
            );
          }
        },
      )
      .finally(() => {
        subscription.unanswered -= 1;
      });
  }

  function publish(args: BananaValue[], from: string): null {
    if (args.length < 1 || args.length > 2) throw violation("publish_v2 takes (announcement, canary)");
    const signed = signedFromBanana(args[0]!);
    if (!signed) throw violation("publish_v2's announcement is not a tuple of three UTF-8 byte strings");
    let announcement: Announcement;
    try {
      announcement = verifyAnnouncement(signed, { maxBytes: limits.maxAnnouncementBytes });
      const outcome = registry.publish(announcement, from);
      if (outcome === "unchanged") return null;
    } catch (error) {
      if (!isTahoeError(error)) throw error;
      options.refused(error.code);
      log.warn({ code: error.code, from }, `refused announcement: ${error.message}`);
      // Tahoe's introducer ignores a stale seqnum without failing the call (server.py).
      if (error.code === "TAHOE_ERR_INTRODUCER_REPLAY") return null;
      throw error;
    }
    log.info(
      { server: announcement.serverId, service: announcement.service, seqnum: announcement.seqnum, from },
      "announcement accepted",
    );
    options.accepted(announcement);
    return null;
  }

  async function subscribe(connection: FoolscapConnection, args: BananaValue[], from: string): Promise<null> {
    const [ref, serviceName, info] = args;
    if (args.length !== 3 || !isMyReference(ref) || !(serviceName instanceof Uint8Array) || !isDict(info)) {
      throw violation("subscribe_v2 takes (subscriber reference, service name bytes, info dict)");
    }
    const known = [...subscriptions].find((s) => s.connection === connection && s.clid === ref.clid);
    if (known) return null; // the same subscriber again: Tahoe ignores it too
    if (ref.interfaceName !== SUBSCRIBER_INTERFACE) {
      throw violation(`subscribe_v2's subscriber must be a ${SUBSCRIBER_INTERFACE}`);
    }
    const total = subscriptions.size + options.otherSubscribers();
    if (total >= limits.maxSubscribers) {
      throw new IntroducerError(
        "TAHOE_ERR_INTRODUCER_LIMIT",
        429,
        `the introducer already serves ${total} subscribers, its limit`,
        { hint: "try again later, or use another introducer" },
      );
    }
    const subscription: Subscription = {
      service: text(serviceName, 64),
      nickname: text(dictGet(info, "nickname")),
      myVersion: text(dictGet(info, "my-version")),
      from,
      since: now(),
      connection,
      clid: ref.clid,
      remote: connection.remoteReference(ref),
      unanswered: 0,
    };
    subscriptions.add(subscription);
    log.info(
      { from, nickname: subscription.nickname, service: subscription.service },
      "Foolscap subscriber connected",
    );
    // Answered once the subscriber has answered the first announce_v2, as Tahoe does (§9.3).
    const held = registry.list(subscription.service).map((h) => h.announcement);
    if (held.length > 0) await send(subscription, held);
    return null;
  }

  /** The introducer service for one connection: its calls know which peer they come from. */
  function serviceFor(from: string, connection: Promise<FoolscapConnection>): Referenceable {
    return {
      interfaceName: INTRODUCER_INTERFACE,
      async callLocal(method, args) {
        const conn = await connection;
        switch (method) {
          case "get_version":
            return dict([
              [bytes(INTRODUCER_V2), dict([])],
              [bytes("application-version"), bytes(options.applicationVersion)],
            ]);
          case "publish_v2":
            return publish(args, `${from} (tub ${conn.peerTubId})`);
          case "subscribe_v2":
            return subscribe(conn, args, `${from} (tub ${conn.peerTubId})`);
          default:
            throw violation(`the introducer has no method '${method.slice(0, 60)}'`);
        }
      },
    };
  }

  function accept(socket: Duplex, from: string): void {
    let resolveConnection!: (c: FoolscapConnection) => void;
    const connection = new Promise<FoolscapConnection>((resolve) => {
      resolveConnection = resolve;
    });
    const service = serviceFor(from, connection);
    pending.add(socket);
    acceptTubConnection(socket, {
      identity: options.identity,
      nextSeqnum,
      connection: {
        lookupName: (name) => (constantTimeEqual(Buffer.from(name, "utf8"), expected) ? service : undefined),
        urlFor: (object) => (object === service ? options.furl : undefined),
      },
    }).then(
      (conn) => {
        pending.delete(socket);
        // A peer that reconnects has lost its old connection (spec §3.6: accept the newest).
        const old = connections.get(conn.peerTubId);
        connections.set(conn.peerTubId, conn);
        old?.close();
        resolveConnection(conn);
        log.debug({ from, peer: conn.peerTubId }, "Foolscap connection");
        void conn.closed.then((why) => {
          if (connections.get(conn.peerTubId) === conn) connections.delete(conn.peerTubId);
          for (const s of subscriptions) if (s.connection === conn) subscriptions.delete(s);
          log.debug({ from, peer: conn.peerTubId, why: why.message }, "Foolscap connection closed");
        });
      },
      (error: unknown) => {
        pending.delete(socket);
        log.info(
          { from, err: isTahoeError(error) ? error.message : String(error) },
          "Foolscap negotiation failed",
        );
      },
    );
  }

  return {
    accept,
    announce(announcement) {
      for (const s of subscriptions) if (s.service === announcement.service) void send(s, [announcement]);
    },
    subscribers() {
      return [...subscriptions].map(({ service, nickname, myVersion, from, since }) => ({
        service,
        nickname,
        myVersion,
        from,
        since,
      }));
    },
    subscriberCount: () => subscriptions.size,
    stop() {
      for (const socket of pending) socket.destroy();
      pending.clear();
      for (const conn of connections.values()) conn.close();
      connections.clear();
      subscriptions.clear();
    },
  };
}
