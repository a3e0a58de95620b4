import {
  type ConnectionHint,
  formatHint,
  formatNurl,
  formatServersYaml,
  type StaticServer,
  writePrivateFile,
} from "@lafs/config";

/** The servers.yaml entry a client needs, written under private/ because it carries the swissnum. */
export const ANNOUNCEMENT_FILE = "private/storage-announcement.yaml";

/** Tahoe-LAFS clients read but do not enforce it; Tahoe's own servers announce the same. */
export const OLDEST_SUPPORTED = "1.0";

export interface StorageAnnouncement {
  serverId: string;
  nickname: string;
  /** pb://TUBID@HINTS/SWISSNUM: Tahoe-LAFS clients need it for the tub id, even over HTTPS. */
  furl: string;
  /** One NURL per tcp, tor or i2p (with a port) hint. */
  nurls: string[];
  permutationSeedBase32: string;
  myVersion: string;
}

/**
 * The NURLs of a GBS service, one per location hint, as Tahoe-LAFS builds them: tcp hints give
 * pb://, tor hints pb+tor://; and i2p hints pb+i2p:// (ours: Tahoe-LAFS builds none for I2P).
 * A Tahoe-LAFS client parses pb+i2p:// and fails only when it tries that NURL (its HTTP client
 * asserts pb or pb+tor), so a server's other NURLs still serve it. An i2p hint without a port
 * gets none: its URL form would be `i2p:ADDR`, which Tahoe-LAFS reads as host and port and
 * refuses the whole announcement for.
 */
export function storageNurls(spkiHash: string, swissnum: string, hints: readonly ConnectionHint[]): string[] {
  return hints
    .filter((h) => h.kind === "tcp" || h.kind === "tor" || (h.kind === "i2p" && h.port !== undefined))
    .map((h) => formatNurl({ spkiHash, hints: [h], swissnum, version: 1 }));
}

/** The Foolscap fURL Tahoe-LAFS announces beside the NURLs, with the same swissnum. */
export function storageFurl(tubId: string, swissnum: string, hints: readonly ConnectionHint[]): string {
  return `pb://${tubId}@${hints.map(formatHint).join(",")}/${swissnum}`;
}

export function announcementServer(ann: StorageAnnouncement): StaticServer {
  return {
    serverId: ann.serverId,
    nickname: ann.nickname,
    storageFurl: ann.furl,
    storageNurls: ann.nurls,
    permutationSeedBase32: ann.permutationSeedBase32,
    announcement: { "my-version": ann.myVersion, "oldest-supported": OLDEST_SUPPORTED },
  };
}

/**
 * The text of private/storage-announcement.yaml: a complete private/servers.yaml in Tahoe-LAFS's
 * format, so its `storage:` entry can be pasted into any client's servers.yaml.
 */
export function formatAnnouncementYaml(ann: StorageAnnouncement): string {
  return (
    "# This storage server's announcement, in private/servers.yaml form. Copy the entry under\n" +
    "# 'storage:' into a client's private/servers.yaml to use this server without an introducer.\n" +
    "# It holds the swissnum: anyone with it can store and read shares. Rewritten at every start.\n" +
    formatServersYaml([announcementServer(ann)])
  );
}

export async function writeAnnouncement(basedir: string, ann: StorageAnnouncement): Promise<void> {
  await writePrivateFile(basedir, ANNOUNCEMENT_FILE, formatAnnouncementYaml(ann));
}
