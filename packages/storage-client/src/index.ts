export {
  type CheckAndRepairResults,
  type CheckOptions,
  type CheckResults,
  type CorruptShare,
  checkAndRepairImmutable,
  checkAndRepairMutable,
  checkImmutable,
  checkMutable,
  type ImmutableCheckOptions,
  type ImmutableRepairOptions,
  type MutableCheckOptions,
} from "./check/index.js";
export {
  type AllocateRequest,
  type CallOptions,
  createStorageClient,
  type LeaseSecrets,
  type MutableSecrets,
  type ShareKind,
  type StorageAnswer,
  type StorageClient,
  type StorageClientOptions,
} from "./client.js";
export {
  type CorruptShareReport,
  type Download,
  type DownloadOptions,
  openDownload,
  type ShareLocation,
} from "./downloader.js";
export { isStorageClientError, StorageClientError, type StorageClientErrorCode } from "./errors.js";
export type { GridServer, UploadServer } from "./grid-server.js";
export { deriveLeaseSecrets } from "./lease-secrets.js";
export type {
  AllocateResult,
  ByteRange,
  ReadTestWriteRequest,
  ReadTestWriteResult,
  ReadVector,
  StorageVersion,
  TestVector,
  TestWriteVectors,
  WriteResult,
  WriteVector,
} from "./messages.js";
export type { MutableCorruptShareReport } from "./mutable/advise.js";
export { MAX_MUTABLE_FILE_SIZE, type MutableContents } from "./mutable/contents.js";
export {
  isMutableFileError,
  MutableFileError,
  type MutableFileErrorCode,
} from "./mutable/errors.js";
export {
  type CreatedMutableFile,
  type CreateOptions,
  createMutableFile,
  type MutableFileHandle,
  newMutableKeyPair,
  type OverwriteResult,
  openMutableFile,
  overwriteMutableFile,
  type PublishExtras,
  type UpdateResult,
  updateMutableFile,
} from "./mutable/files.js";
export type { MutableGridOptions } from "./mutable/grid.js";
export { PUBLISH_REQUEST_BYTES, type PublishResult } from "./mutable/publish.js";
export {
  type BadServermapShare,
  type ServerMap,
  type ServermapOptions,
  type ServermapShare,
  type ServermapVersion,
  updateServermap,
} from "./mutable/servermap.js";
export { type ConnectFunction, tcpConnect } from "./pinned-connect.js";
export {
  assertRequiredServersKnown,
  type NewServersSource,
  requiredButUnknown,
  type ServerFlags,
  type ServerFlagsOptions,
  serverFlagsFromFiles,
  serverFlagsFromText,
  withServerFlags,
} from "./server-flags.js";
export {
  askForShares,
  connectedInPermutedOrder,
  SHARE_QUERY_TIMEOUT_MS,
  type ShareQueryAnswer,
  type ShareQueryOptions,
} from "./server-selection.js";
export type { StorageIndex } from "./storage-index.js";
export {
  DownloadError,
  type DownloadErrorCode,
  isDownloadError,
  isUploadError,
  UploadError,
  type UploadErrorCode,
  type UploadErrorOptions,
} from "./transfer-errors.js";
export { type UploadOptions, type UploadResult, uploadImmutable } from "./uploader.js";
export { DEFAULT_BATCH_SIZE } from "./uploader-bucket.js";
