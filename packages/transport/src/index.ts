export { type AllocatePortOptions, allocatePort } from "./allocate-port.js";
export type { ConnectionAttempt } from "./attempts.js";
export { isTransportError, TransportError, type TransportErrorCode } from "./errors.js";
export type { SamEndpointSource, SocksEndpointSource } from "./handlers.js";
export { type HintPattern, hintMatches, parseHintPattern } from "./hint-pattern.js";
export {
  type AllocatedI2pDestination,
  type AllocateI2pDestinationOptions,
  allocateI2pDestination,
  b32Address,
  DEFAULT_SAM_ENDPOINT,
} from "./i2p-provider/destination.js";
export { I2pProviderError, type I2pProviderErrorCode } from "./i2p-provider/i2p-errors.js";
export {
  DEFAULT_I2P_SESSION_OPTIONS,
  type PublishedI2pDestination,
  type PublishI2pDestinationOptions,
  publicDestinationOf,
  publishI2pDestination,
} from "./i2p-provider/publish-destination.js";
export { describeListenEndpoint, listenOnEndpoint, literalListenEndpoint } from "./listen.js";
export {
  CONNECTION_RULES_FILE,
  loadOverrideRules,
  type OverrideRule,
  type OverrideRulesResult,
  overrideRulesPrivacyErrors,
  parseOverrideRules,
} from "./override-rules.js";
export {
  checkPeerPin,
  HintsExhaustedError,
  hintText,
  type OpenPinnedTlsOptions,
  openPinnedTls,
  PinMismatchError,
  type PinnedTls,
  pinnedTlsHandshake,
  type TryHintsOptions,
  tryHintsInOrder,
} from "./pinned-tls.js";
export type { AnnouncedConnections, HandlerDecision, HandlerName } from "./policy.js";
export {
  parseSamReply,
  type SamDestination,
  type SamEndpoint,
  type SamForward,
  type SamForwardTarget,
  type SamReply,
  type SamSession,
  type SamSessionOptions,
  samCreateSession,
  samGenerateDestination,
  samStreamConnect,
  samStreamForward,
} from "./sam.js";
export {
  type Socks5Credentials,
  type Socks5Target,
  socks5Connect,
  socksReplyError,
} from "./socks5.js";
export {
  type AllocatedOnion,
  type AllocateOnionOptions,
  allocateOnionService,
  type OnionAllocator,
} from "./tor/allocate-onion.js";
export { parseBootstrapPhase, type TorBootstrapProgress, type TorProgressListener } from "./tor/bootstrap.js";
export { type CheckTorOptions, checkTor, type TorCheckHints, type TorCheckResult } from "./tor/check-tor.js";
export {
  type ConnectTorControlOptions,
  connectTorControl,
  type TorControl,
  type TorEventListener,
  type TorReply,
} from "./tor/control-connection.js";
export { DEFAULT_TOR_ENDPOINTS, type TorSocksEndpoint } from "./tor/endpoints.js";
export { TorError, type TorErrorCode } from "./tor/errors.js";
export { type LaunchedTor, type LaunchTorOptions, launchTor } from "./tor/launch.js";
export {
  type AddOnionOptions,
  addOnion,
  delOnion,
  type OnionService,
  parseOnionPrivateKey,
} from "./tor/onion.js";
export { type PublishedOnion, type PublishOnionOptions, publishOnionService } from "./tor/publish-onion.js";
export {
  createTorProvider,
  readTorrcLines,
  TOR_STATE_DIR,
  type TorProvider,
  type TorProviderOptions,
  type TorSettings,
} from "./tor/tor-provider.js";
export {
  createTorMonitor,
  describeTorStatus,
  parseHsDescEvent,
  type TorMonitor,
  type TorMonitorOptions,
  type TorStatus,
} from "./tor/tor-status.js";
export {
  type ConnectAnyOptions,
  type ConnectFunction,
  type ConnectOptions,
  createTransport,
  type HintReachability,
  type Reachability,
  type Transport,
  type TransportOptions,
} from "./transport.js";
