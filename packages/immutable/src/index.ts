export { createCtrCipher } from "./aes-ctr.js";
export {
  type ChkReadCap,
  type ChkVerifyCap,
  formatCap,
  formatChkReadCap,
  formatChkVerifyCap,
  formatLiteralCap,
  type ImmutableCap,
  type LiteralCap,
  parseChkReadCap,
  parseImmutableCap,
  storageIndexOfKey,
  verifyCapOf,
} from "./caps.js";
export { type ConvergenceHasher, convergenceTag, createConvergenceHasher } from "./convergence.js";
export {
  type ByteRange,
  type ChkDecoder,
  type ChkDecoderOptions,
  createChkDecoder,
  RUN_BYTES,
  WHOLE_SHARE_BYTES,
} from "./decoder.js";
export {
  type ChkEncodedShares,
  type ChkEncodeOptions,
  type ChkEncodeResult,
  type ChkEncoding,
  type ChkSharesEncoding,
  type ChkSharesResult,
  computeImmutableCap,
  encodeChkToBuffers,
  type LiteralEncodeResult,
  type ShareWrite,
  type StreamingConvergentKey,
  startChkEncode,
  startChkEncodeOfCrypttext,
  streamingConvergentKey,
} from "./encoder.js";
export {
  CorruptShareError,
  type CorruptShareErrorCode,
  ImmutableError,
  type ImmutableErrorCode,
  isCorruptShareError,
} from "./errors.js";
export { canFreeNow, FREE_NOW_MIN_BYTES, freeNow } from "./free-buffer.js";
export { buildHashTree, emptyLeafHash } from "./hash-tree.js";
export { createSpoolBudget, type SpoolBudget, spoolStream } from "./memory-spool.js";
export {
  type ChkParams,
  type ChkPlan,
  DEFAULT_MAX_SEGMENT_SIZE,
  LITERAL_MAX_SIZE,
  planChk,
  type ShareLayout,
} from "./plan.js";
export { cpythonSetOrder, shareHashChainIndices } from "./share-hash-chain.js";
export { decodeShareHeader, encodeShareHeader, type ShareHeader } from "./share-header.js";
export {
  bufferShareReader,
  type OpenedShare,
  type OpenShareOptions,
  openShare,
  type ShareExpectation,
  type ShareReader,
} from "./share-reader.js";
export {
  type ByteSource,
  bytesSource,
  type ClosableByteSource,
  fileSource,
  type SpoolOptions,
  spoolToTempFile,
} from "./source.js";
export { encodeUeb, parseUeb, type Ueb, uebHash } from "./ueb.js";
export { type VerifiedShare, verifyChkShare } from "./verifier.js";
export {
  closeSharedWorkerPool,
  createWorkerPool,
  defaultWorkerCount,
  onWorkerStart,
  sharedWorkerPool,
  siblingModule,
  type WorkerPool,
  WorkerPoolError,
  type WorkerPoolErrorCode,
  type WorkerPoolOptions,
  type WorkerTaskResult,
} from "./worker-pool.js";
export * from "./zfec/index.js";
