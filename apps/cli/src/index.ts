export type { CliCommand, CommandContext, CommandGroup, GlobalOptions, HelpContext } from "./command.js";
export { COMMAND_GROUPS } from "./command.js";
export { COMMANDS, findCommand } from "./commands.js";
export { type CreateDependencies, createNodeDirectory, type WrittenFile } from "./create-node-directory.js";
export {
  type CreateClientRequest,
  type CreateRequest,
  DEFAULT_SHARES,
  DEFAULT_WEBPORT,
  type ListenerKind,
  type NodeKind,
} from "./create-options.js";
export { type CliIo, processIo } from "./io.js";
export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, runCli } from "./main.js";
export { flag, type OptionSpec, type ParsedOptions, param, parseOptions } from "./option-parser.js";
export { formatTahoeCfg, type NewClientConfig, type NewNodeConfig } from "./tahoe-cfg-text.js";
export { CliUsageError, isCliUsageError } from "./usage-error.js";
export { versionLine } from "./version.js";
