import type { Announcement } from "@lafs/crypto";
import { IntroducerError } from "./errors.js";

/** What one peer (one signing key) may make the introducer hold and do. */
export interface IntroducerLimits {
  /** Largest signed `msg`, in bytes. */
  maxAnnouncementBytes: number;
  /** Services one node id may announce at once (Tahoe-LAFS nodes announce one: storage). */
  maxServicesPerNode: number;
  /** Publish requests one node id may make per minute, accepted or not. */
  maxPublishesPerMinute: number;
  /** Node ids held in all; beyond it, new nodes are refused until the introducer restarts. */
  maxNodes: number;
  /** Open subscription streams in all. */
  maxSubscribers: number;
}

export const DEFAULT_LIMITS: IntroducerLimits = {
  maxAnnouncementBytes: 16 * 1024,
  maxServicesPerNode: 8,
  maxPublishesPerMinute: 30,
  maxNodes: 10_000,
  maxSubscribers: 10_000,
};

export interface HeldAnnouncement {
  announcement: Announcement;
  /** Milliseconds since the epoch when this version arrived. */
  receivedAt: number;
  /** The address it came from, as the status page shows it. */
  from: string;
}

export type PublishOutcome = "accepted" | "unchanged";

export interface Registry {
  /** Stores the announcement if it is new; throws IntroducerError REPLAY (409) or LIMIT (429). */
  publish(announcement: Announcement, from: string): PublishOutcome;
  /** Every held announcement, of one service or all, oldest first. */
  list(service?: string): HeldAnnouncement[];
}

const MINUTE_MS = 60_000;

/**
 * The introducer's memory: the newest announcement per (node id, service). Like Tahoe-LAFS's
 * introducer it keeps nothing on disk: publishers announce again whenever they reconnect.
 */
export function createRegistry(limits: IntroducerLimits, now: () => number): Registry {
  const held = new Map<string, HeldAnnouncement>();
  const servicesOf = new Map<string, Set<string>>();
  const recentPublishes = new Map<string, number[]>();

  function checkRate(serverId: string, who: string): void {
    const t = now();
    const recent = (recentPublishes.get(serverId) ?? []).filter((at) => at > t - MINUTE_MS);
    if (recent.length >= limits.maxPublishesPerMinute) {
      recentPublishes.set(serverId, recent);
      throw new IntroducerError(
        "TAHOE_ERR_INTRODUCER_LIMIT",
        429,
        `${who} published ${recent.length} times in the last minute, over the limit of ${limits.maxPublishesPerMinute}`,
        { hint: "publish again only when the announcement changes or the connection was lost" },
      );
    }
    recent.push(t);
    recentPublishes.set(serverId, recent);
  }

  return {
    publish(announcement, from) {
      const { serverId, service, seqnum } = announcement;
      const who = `node ${serverId.slice(0, 13)}…`;
      checkRate(serverId, who);
      const key = `${serverId} ${service}`;
      const current = held.get(key);
      if (current !== undefined) {
        const [msg, sig] = current.announcement.signed;
        // The publisher re-sending what we hold (it does so at every reconnect) changes nothing.
        if (msg === announcement.signed[0] && sig === announcement.signed[1]) return "unchanged";
        if (seqnum <= current.announcement.seqnum) {
          throw new IntroducerError(
            "TAHOE_ERR_INTRODUCER_REPLAY",
            409,
            `${who} announced '${service}' with seqnum ${seqnum}, but seqnum ${current.announcement.seqnum} is already held`,
            {
              hint: "an old announcement is being replayed, or the publisher lost its announcement-seqnum file; only a higher seqnum replaces the current one",
            },
          );
        }
      } else {
        const services = servicesOf.get(serverId);
        if (services === undefined && servicesOf.size >= limits.maxNodes) {
          throw new IntroducerError(
            "TAHOE_ERR_INTRODUCER_LIMIT",
            429,
            `the introducer already holds announcements from ${servicesOf.size} nodes, its limit`,
            { hint: "the grid is larger than this introducer was configured for; try another introducer" },
          );
        }
        if (services !== undefined && services.size >= limits.maxServicesPerNode) {
          throw new IntroducerError(
            "TAHOE_ERR_INTRODUCER_LIMIT",
            429,
            `${who} already announces ${services.size} services, its limit; '${service}' is refused`,
            { hint: `a node may announce at most ${limits.maxServicesPerNode} services` },
          );
        }
        if (services === undefined) servicesOf.set(serverId, new Set([service]));
        else services.add(service);
      }
      held.delete(key);
      held.set(key, { announcement, receivedAt: now(), from });
      return "accepted";
    },

    list(service) {
      return [...held.values()].filter((h) => service === undefined || h.announcement.service === service);
    },
  };
}
