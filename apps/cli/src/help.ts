import { type CliCommand, COMMAND_GROUPS, type HelpContext } from "./command.js";
import { globalOptionSpecs } from "./global-options.js";
import { formatOptionTable, wrapParagraphs } from "./help-text.js";

/** `tahoe --help`: the global options, then the commands by group, as Tahoe-LAFS lays it out. */
export function formatGlobalHelp(commands: readonly CliCommand[], context: HelpContext): string {
  const nameWidth = Math.max(...commands.map((c) => c.name.length)) + 3;
  let text = "Usage: tahoe [global-options] <command> [command-options]\n\nGlobal options:\n";
  text += formatOptionTable(globalOptionSpecs(context));
  text += "\nCommands:\n";
  for (const group of COMMAND_GROUPS) {
    const inGroup = commands.filter((c) => c.group === group);
    if (inGroup.length === 0) continue;
    text += `\n(${group})\n`;
    for (const command of inGroup) text += `    ${command.name.padEnd(nameWidth)}${command.summary}\n`;
  }
  return `${text}\nPlease run 'tahoe <command> --help' for more details on each command.\n`;
}

/** `tahoe <verb> --help`: the Usage line, the options with defaults, the description. */
export function formatCommandHelp(command: CliCommand, context: HelpContext): string {
  return (
    `Usage: tahoe [global-options] ${command.name} ${command.synopsis}\n` +
    "(use 'tahoe --help' to view global options)\n\n" +
    `Options:\n${formatOptionTable(command.options(context))}\n` +
    `${wrapParagraphs(command.description)}\n`
  );
}
