export {
  type Activity,
  type ActivityHandle,
  type ActivityKind,
  type ActivityTracker,
  createActivityTracker,
} from "./activity.js";
export {
  type ControlClient,
  type ControlClientOptions,
  type LogLine,
  type LogsRequest,
  openControlClient,
} from "./client.js";
export {
  type ControlIdentity,
  newControlIdentity,
  readControlIdentity,
  readControlUrl,
  writeControlFiles,
} from "./control-files.js";
export { CONTROL_HOST, type ControlUrl, formatControlUrl, parseControlUrl } from "./control-url.js";
export { ControlTubError, type ControlTubErrorCode } from "./errors.js";
export {
  createLogHub,
  DEFAULT_FOLLOWER_QUEUE,
  DEFAULT_LOG_CAPACITY,
  isLogLevelName,
  LOG_LEVELS,
  type LogBatch,
  type LogEvent,
  type LogFollower,
  type LogHub,
  type LogHubOptions,
  type LogLevelName,
  teeLogger,
} from "./log-hub.js";
export { redactFields, redactText, redactValue } from "./redact.js";
export { type ControlTub, type ControlTubOptions, createControlTub, DEFAULT_LOG_LIMIT } from "./server.js";
