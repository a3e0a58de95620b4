export {
  type CoderImplementation,
  createErasureCoder,
  type ErasureCoder,
  type ErasureCoderOptions,
} from "./coder.js";
export { ErasureCoderError, type ErasureCoderErrorCode } from "./errors.js";
