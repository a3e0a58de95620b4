import type { Announcement } from "@lafs/crypto";
import type { Sequence } from "./sequencer.js";

/** What Tahoe-LAFS's servers say they still talk to; clients read but do not enforce it. */
export const OLDEST_SUPPORTED = "1.0";

export interface AnnouncementInput {
  service: string;
  nickname: string;
  myVersion: string;
  oldestSupported?: string;
  sequence: Sequence;
  /** The service's own keys, such as anonymous-storage-NURLs. */
  fields: Record<string, unknown>;
}

/** The announcement dict as Tahoe-LAFS's IntroducerClient builds it before signing. */
export function announcementFields(input: AnnouncementInput): Record<string, unknown> {
  return {
    version: 0,
    nickname: input.nickname,
    "my-version": input.myVersion,
    "oldest-supported": input.oldestSupported ?? OLDEST_SUPPORTED,
    "service-name": input.service,
    ...input.fields,
    seqnum: input.sequence.seqnum,
    nonce: input.sequence.nonce,
  };
}

export interface StorageAnnouncementInput {
  nurls: readonly string[];
  furl: string;
  permutationSeedBase32: string;
}

/** The storage service's keys (wire-formats §5.1): NURLs, the fURL for the tub id, the seed. */
export function storageFields(input: StorageAnnouncementInput): Record<string, unknown> {
  return {
    "anonymous-storage-FURL": input.furl,
    "permutation-seed-base32": input.permutationSeedBase32,
    "anonymous-storage-NURLs": [...input.nurls],
  };
}

/** The storage keys of a verified announcement, with the wrong-typed ones left out. */
export function storageInfo(announcement: Announcement): {
  nurls: string[];
  furl?: string;
  permutationSeedBase32?: string;
} {
  const f = announcement.fields;
  const nurls = Array.isArray(f["anonymous-storage-NURLs"]) ? (f["anonymous-storage-NURLs"] as string[]) : [];
  const out: { nurls: string[]; furl?: string; permutationSeedBase32?: string } = { nurls: [...nurls] };
  if (typeof f["anonymous-storage-FURL"] === "string") out.furl = f["anonymous-storage-FURL"];
  if (typeof f["permutation-seed-base32"] === "string")
    out.permutationSeedBase32 = f["permutation-seed-base32"];
  return out;
}
