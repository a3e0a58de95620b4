export {
  BananaDecoder,
  type BananaLimits,
  type BananaMessage,
  DEFAULT_BANANA_LIMITS,
  type DecodedKeyword,
} from "./banana-decoder.js";
export { BananaEncoder, type KeywordArgument } from "./banana-encoder.js";
export {
  type ConnectionOptions,
  FoolscapConnection,
  type Referenceable,
  type RemoteReference,
} from "./connection.js";
export {
  FoolscapError,
  type FoolscapErrorCode,
  FoolscapRemoteError,
  isFoolscapError,
  type RemoteFailure,
} from "./errors.js";
export {
  type ConnectorOptions,
  type ListenerOptions,
  type Negotiated,
  negotiateAsConnector,
  negotiateAsListener,
} from "./negotiate.js";
export {
  INTRODUCER_INTERFACE,
  INTRODUCER_V2,
  type SignedTriple,
  SUBSCRIBER_INTERFACE,
  signedFromBanana,
  signedToBanana,
  subscriberInfo,
} from "./tahoe-introducer.js";
export {
  type AcceptTubOptions,
  acceptTubConnection,
  type ConnectFunction,
  type ConnectTubOptions,
  connectToTub,
} from "./tub.js";
export { createTubIdentity, type TubIdentity, tubIdentityFromPem, tubIdentityOf } from "./tub-identity.js";
export {
  type BananaCopyable,
  type BananaDict,
  type BananaSequence,
  type BananaValue,
  bytes,
  bytesText,
  describeType,
  dict,
  dictGet,
  isBytes,
  isDict,
  isSequence,
  list,
  type MyReference,
  set,
  tuple,
  type YourReference,
} from "./values.js";
export { INITIAL_VOCAB_TABLES, vocabTableHash } from "./vocab.js";
