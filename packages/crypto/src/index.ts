export {
  type Announcement,
  AnnouncementError,
  type AnnouncementErrorCode,
  MAX_ANNOUNCEMENT_BYTES,
  pythonJson,
  type SignedAnnouncement,
  signAnnouncement,
  verifyAnnouncement,
} from "./announcement.js";
export { base32Decode, base32Encode, base32Length, isBase32 } from "./base32.js";
export { CryptoError, type CryptoErrorCode } from "./errors.js";
export { type BytesLike, netstring, sha256, sha256d, taggedHash, taggedPairHash } from "./hash.js";
export { type BucketLeaseSecrets, bucketLeaseSecrets } from "./lease-secrets.js";
export {
  generateNodeKey,
  type NodeKey,
  type NodePublicKey,
  nodeIdFromPublicKey,
  parseNodePrivateKey,
  parseNodePublicKey,
  signWithNodeKey,
  verifyNodeSignature,
} from "./node-key.js";
export { constantTimeEqual, formatSecretFile, parseSecretFile, randomSecret } from "./secret.js";
export {
  createTlsIdentity,
  DEFAULT_VALID_DAYS,
  formatTlsIdentityPem,
  parseTlsIdentityPem,
  spkiDerOfCertificate,
  spkiHashOfCertificate,
  type TlsIdentity,
  type TlsIdentityOptions,
} from "./tls.js";
export { type TubId, tubIdOfCertificate } from "./tub-id.js";
