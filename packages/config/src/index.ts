export { DEFAULT_ALIAS, readAliases } from "./aliases.js";
export { renderConfigurationDoc } from "./config-doc.js";
export {
  brokenControlPanelStateError,
  type ControlPanelState,
  type ControlPanelStateResult,
  checkEncoding,
  ENCODING_RULE,
  formatControlPanelState,
  parseControlPanelState,
  readControlPanelState,
  writeControlPanelState,
} from "./control-panel-state.js";
export {
  formatEndpoint,
  isLoopbackEndpoint,
  isLoopbackHost,
  type ListenEndpoint,
  parseEndpoint,
  parseEndpointList,
} from "./endpoint.js";
export { type Furl, parseFurl, redactUrlSecret } from "./furl.js";
export {
  type ConnectionHint,
  formatHint,
  formatHostPort,
  type HintKind,
  isHostName,
  isI2pHost,
  isIpLiteral,
  isOnionHost,
  parseHint,
  parseTubLocation,
  type TubLocation,
} from "./hint.js";
export { IDLE_TIMEOUT_ALLOWED, parseIdleTimeout } from "./idle-timeout.js";
export {
  type IniEntry,
  type IniParseResult,
  type IniSection,
  type IssueSeverity,
  parseIni,
  type SeverityIssue,
} from "./ini.js";
export {
  formatIntroducersYaml,
  type IntroducerEntry,
  type IntroducersYamlResult,
  parseIntroducersYaml,
} from "./introducers-yaml.js";
export { ConfigInvalidError, type ConfigIssue, ConfigValueError, formatIssue } from "./issues.js";
export {
  assertValidConfig,
  decodeConfigBytes,
  type LoadOptions,
  type LoadResult,
  loadNodeConfig,
  loadTahoeCfgBytes,
  loadTahoeCfgText,
} from "./load.js";
export {
  ensureApiAuthToken,
  NODE_FILES,
  NodeDirectoryError,
  type NodeDirectoryErrorCode,
  type NodeFile,
  prepareNewNodeDirectory,
  readApiAuthToken,
  readTextIfPresent,
  readWebSecret,
  removeNodeDirectoryOnFailure,
  retireWebSecret,
  rotateWebSecret,
  writeFileAtomic,
  writePrivateFile,
} from "./node-dir.js";
export { formatNurl, isSpkiHash, type Nurl, parseNurl } from "./nurl.js";
export { CROSS_FIELD_RULES, type CrossFieldRule, type RuleServer } from "./rules.js";
export {
  type ClientSection,
  type ConnectionsSection,
  FOREIGN_SECTIONS,
  type HelperSection,
  type I2pSection,
  type KeySpec,
  lineOf,
  type NodeSection,
  SCHEMA,
  type SectionName,
  type SectionSpec,
  type SourceLines,
  type StorageSection,
  type TahoeConfig,
  type TorSection,
  type TubPort,
} from "./schema.js";
export {
  formatServerListFile,
  isServerId,
  parseServerListFile,
  type ServerListEntry,
  type ServerListParseResult,
} from "./server-list-file.js";
export {
  formatServersYaml,
  parseServersYaml,
  type ServersYamlResult,
  type StaticServer,
  type TcpHandlerChoice,
} from "./servers-yaml.js";
export {
  BOOLEAN_ALLOWED,
  type ClientEndpoint,
  formatClientEndpoint,
  parseAbbreviatedSize,
  parseBooleanValue,
  parseClientEndpoint,
  parseCommaList,
  parseDate,
  parseDuration,
  parseIntegerValue,
} from "./values.js";
