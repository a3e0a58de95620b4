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
export { IntroducerError, type IntroducerErrorCode } from "./errors.js";
export { createIntroducer, type Introducer, type IntroducerOptions } from "./introducer.js";
export { INTRODUCER_SWISSNUM_BYTES, introducerFurl, introducerNurls } from "./nurls.js";
export {
  DEFAULT_KEEPALIVE_MS,
  PROTOCOL_VERSION,
  PUBLISH_PATH,
  STREAM_TYPE,
  type StreamEvent,
  SUBSCRIBE_PATH,
} from "./protocol.js";
export {
  DEFAULT_LIMITS,
  type HeldAnnouncement,
  type IntroducerLimits,
  type PublishOutcome,
} from "./registry.js";
export type { IntroducerStatus, SubscriberInfo } from "./status-page.js";
