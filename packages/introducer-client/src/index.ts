export {
  type Announcement,
  AnnouncementError,
  type AnnouncementErrorCode,
  MAX_ANNOUNCEMENT_BYTES,
  pythonJson,
  type SignedAnnouncement,
  signAnnouncement,
  verifyAnnouncement,
} from "@lafs/crypto";
export { type TubIdentity, tubIdentityOf } from "@lafs/foolscap";
export {
  type AnnouncementInput,
  announcementFields,
  OLDEST_SUPPORTED,
  type StorageAnnouncementInput,
  storageFields,
  storageInfo,
} from "./announcement-fields.js";
export {
  type CacheLoadResult,
  cacheFileName,
  cacheFilePath,
  loadAnnouncementCache,
  saveAnnouncementCache,
} from "./cache.js";
export { IntroducerClientError, type IntroducerClientErrorCode } from "./errors.js";
export {
  createFoolscapIntroducerClient,
  type FoolscapIntroducerClientOptions,
  INTRODUCER_INTERFACE,
  INTRODUCER_V2,
  SUBSCRIBER_INTERFACE,
  signedFromBanana,
  signedToBanana,
  subscriberInfo,
} from "./foolscap-introducer-client.js";
export {
  type AnnouncementSource,
  type BackoffOptions,
  createIntroducerClient,
  type IntroducerClient,
  type IntroducerClientOptions,
  type IntroducerConnectionStatus,
  type ReceivedAnnouncement,
} from "./introducer-client.js";
export type { ConnectFunction } from "./pinned-https.js";
export { createFileSequencer, SEQNUM_FILE, type Sequence, type Sequencer } from "./sequencer.js";
export {
  type ConnectionState,
  createServerList,
  type HintError,
  type LearnedFrom,
  type ProbeFunction,
  type ProbeResult,
  type ServerInfo,
  type ServerList,
  type ServerListEvent,
  type ServerListOptions,
  ServerUnreachableError,
} from "./server-list.js";
export { type GridSnapshot, gridSnapshot } from "./snapshot.js";
