export {
  ANNOUNCEMENT_FILE,
  announcementServer,
  formatAnnouncementYaml,
  OLDEST_SUPPORTED,
  type StorageAnnouncement,
  storageFurl,
  storageNurls,
} from "./announcement.js";
export { NodeError, type NodeErrorCode } from "./errors.js";
export {
  createNode,
  type NodeOptions,
  type NodeStatus,
  type StorageStatus,
  type TahoeNode,
} from "./node.js";
export { PERMUTATION_SEED_FILE } from "./node-identity.js";
export {
  acquireNodeLock,
  formatPidFile,
  isPidFileLive,
  type NodeLock,
  type PidFileContent,
  parsePidFile,
  processStartTime,
} from "./pid-file.js";
export { type RunNodeOptions, runNode } from "./run-node.js";
export {
  localIpv4Addresses,
  PORT_FILE,
  resolveTubEndpoints,
  type TubEndpointOptions,
  type TubEndpoints,
} from "./tub-endpoints.js";
export { applicationVersion } from "./version.js";
