export {
  type ErrorCode,
  formatTahoeError,
  isTahoeError,
  TahoeError,
  type TahoeErrorOptions,
} from "./errors.js";
export type { Startable } from "./lifecycle.js";
export { type LogFn, type Logger, type LogLine, recordingLogger, silentLogger } from "./logger.js";
export { noSchemaCompilers } from "./schema-compilers.js";
