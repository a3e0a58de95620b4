export {
  type DirectoryCap,
  type DirectoryCapKind,
  type DirectoryFormat,
  directoryCapOfFileCap,
  IMMUTABLE_PREFIX,
  isDirectoryCap,
  parseDirectoryCap,
  READONLY_PREFIX,
  readOnlyDirectoryCap,
  verifyDirectoryCap,
} from "./caps.js";
export { type ChildCapInfo, classifyChildCap } from "./child-caps.js";
export { DirectoryError, type DirectoryErrorCode, isDirectoryError } from "./errors.js";
export {
  type ChildToSet,
  createDirectory,
  createImmutableDirectory,
  type DirectoryGridOptions,
  type DirectoryHandle,
  openDirectory,
  type RenameOptions,
  type ReplaceRule,
  type ResolvedPath,
  resolvePath,
  type SetOptions,
} from "./grid.js";
export { updateMetadata } from "./metadata.js";
export { checkChildName, compareNames, normalizeName } from "./names.js";
export {
  type DirectoryEntry,
  type DirectoryProblem,
  decryptChildWriteCap,
  encryptChildWriteCap,
  type PackOptions,
  packDirectory,
  type UnpackedDirectory,
  type UnpackOptions,
  unpackDirectory,
} from "./pack.js";
export { isPythonFloatKey, pythonFloatRepr, pythonJsonDumps, pythonNumber } from "./python-json.js";
