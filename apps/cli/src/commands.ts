import { addAliasCommand, createAliasCommand, listAliasesCommand } from "./alias-commands.js";
import { backupCommand } from "./backup-command.js";
import { checkCommand } from "./check-command.js";
import type { CliCommand } from "./command.js";
import { logsCommand, statusCommand, stopCommand } from "./control-commands.js";
import { cpCommand } from "./cp-command.js";
import { createClientCommand, createIntroducerCommand, createNodeCommand } from "./create-commands.js";
import { debugCommand } from "./debug-commands.js";
import { deepCheckCommand } from "./deep-check-command.js";
import {
  lnCommand,
  lsCommand,
  manifestCommand,
  mkdirCommand,
  mvCommand,
  rmCommand,
  unlinkCommand,
} from "./dir-commands.js";
import { gridCommand } from "./grid-command.js";
import { getCommand, putCommand } from "./put-get-commands.js";
import { runCommand } from "./run-command.js";
import { statsCommand } from "./stats-command.js";
import { webopenCommand } from "./webopen-command.js";

/**
 * Every verb `tahoe` knows, in the order `tahoe --help` lists them within each group. A new
 * verb (run, put, get, debug ...) is one entry here.
 */
export const COMMANDS: readonly CliCommand[] = [
  createNodeCommand,
  createClientCommand,
  createIntroducerCommand,
  gridCommand,
  runCommand,
  stopCommand,
  statusCommand,
  logsCommand,
  debugCommand,
  addAliasCommand,
  createAliasCommand,
  listAliasesCommand,
  lsCommand,
  mkdirCommand,
  putCommand,
  getCommand,
  cpCommand,
  lnCommand,
  mvCommand,
  unlinkCommand,
  rmCommand,
  backupCommand,
  manifestCommand,
  statsCommand,
  checkCommand,
  deepCheckCommand,
  webopenCommand,
];

export function findCommand(name: string): CliCommand | undefined {
  return COMMANDS.find((c) => c.name === name);
}
