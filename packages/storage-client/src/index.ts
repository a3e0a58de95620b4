export {
  type AllocateRequest,
  type CallOptions,
  createStorageClient,
  type LeaseSecrets,
  type MutableSecrets,
  type ShareKind,
  type StorageClient,
  type StorageClientOptions,
} from "./client.js";
export { isStorageClientError, StorageClientError, type StorageClientErrorCode } from "./errors.js";
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
export { type ConnectFunction, tcpConnect } from "./pinned-connect.js";
export type { StorageIndex } from "./storage-index.js";
