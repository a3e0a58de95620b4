import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type ConfigIssue, isServerId, type TcpHandlerChoice } from "@lafs/config";
import { HINT_PATTERN_FORMS, type HintPattern, parseHintPattern } from "./hint-pattern.js";

/** Where a node keeps its override rules, relative to BASEDIR. */
export const CONNECTION_RULES_FILE = "private/connections.rules";

/**
 * One line of the override rules file. The handler replaces `[connections] tcp` for the tcp hints
 * the rule matches; for tor: and i2p: hints only `disabled` means something (they always use
 * their own handler otherwise), so other handlers skip them.
 */
export interface OverrideRule {
  file: string;
  line: number;
  match: { kind: "server"; serverId: string } | { kind: "hint"; pattern: HintPattern };
  handler: TcpHandlerChoice;
}

export interface OverrideRulesResult {
  rules: OverrideRule[];
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
}

const LINE_FORM =
  "a rule is 'server SERVERID HANDLER' or 'hint PATTERN HANDLER', HANDLER = tcp, tor or disabled";
const HANDLERS: readonly TcpHandlerChoice[] = ["tcp", "tor", "disabled"];

/**
 * Parses the override rules file. Never throws on content: each bad line becomes an error that
 * names the file and line, and is left out, so one typo does not silently drop the others.
 */
export function parseOverrideRules(text: string, file: string): OverrideRulesResult {
  const rules: OverrideRule[] = [];
  const errors: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const content = raw.replace(/#.*$/, "").trim();
    if (content === "") return;
    const fields = content.split(/\s+/);
    if (fields.length !== 3) {
      errors.push({
        file,
        line,
        message: `'${content}' has ${fields.length} fields, not 3`,
        allowed: LINE_FORM,
      });
      return;
    }
    const [what, target, handlerText] = fields as [string, string, string];
    if (!HANDLERS.includes(handlerText as TcpHandlerChoice)) {
      errors.push({
        file,
        line,
        message: `handler '${handlerText}' is not tcp, tor or disabled`,
        allowed:
          "tcp (direct), tor (through Tor) or disabled (never); i2p: hints always use I2P, so 'i2p' is not a choice",
      });
      return;
    }
    const handler = handlerText as TcpHandlerChoice;
    if (what === "server") {
      if (!isServerId(target)) {
        warnings.push({
          file,
          line,
          message: `server id '${target}' does not look like a Tahoe-LAFS node id`,
          allowed:
            "a node id is v0- followed by 52 base32 characters; copy it from the server's announcement",
        });
      }
      rules.push({ file, line, match: { kind: "server", serverId: target }, handler });
      return;
    }
    if (what === "hint") {
      const pattern = parseHintPattern(target);
      if (typeof pattern === "string") {
        errors.push({ file, line, message: pattern, allowed: HINT_PATTERN_FORMS });
        return;
      }
      if (pattern.kind !== undefined && pattern.kind !== "tcp" && handler !== "disabled") {
        warnings.push({
          file,
          line,
          message: `'${target}' matches only ${pattern.kind}: hints, which always use their own handler: '${handler}' has no effect`,
          allowed: `use 'disabled' to stop using such hints, or match tcp: hints`,
        });
      }
      rules.push({ file, line, match: { kind: "hint", pattern }, handler });
      return;
    }
    errors.push({ file, line, message: `'${what}' is not 'server' or 'hint'`, allowed: LINE_FORM });
  });
  return { rules, errors, warnings };
}

/**
 * reveal-IP-address = false: a rule that sends tcp hints to the tcp handler would connect
 * directly, so it is an error at start (as servers.yaml's `connections: {tcp: tcp}` is), not a
 * refusal at the first connection.
 */
export function overrideRulesPrivacyErrors(
  rules: readonly OverrideRule[],
  revealIpAddress: boolean,
): ConfigIssue[] {
  if (revealIpAddress) return [];
  return rules
    .filter(
      (r) => r.handler === "tcp" && (r.match.kind === "server" || (r.match.pattern.kind ?? "tcp") === "tcp"),
    )
    .map((r) => ({
      file: r.file,
      line: r.line,
      message: `this rule sends ${r.match.kind === "server" ? `server ${r.match.serverId}'s` : "matching"} tcp hints to the tcp handler, but reveal-IP-address = false in tahoe.cfg: a direct connection reveals this node's IP address`,
      allowed: "use tor or disabled in this rule, or remove it",
    }));
}

/**
 * Reads BASEDIR/private/connections.rules. A missing file means no rules; any other read error
 * is an error issue, so a rules file the node cannot read is never silently ignored.
 */
export async function loadOverrideRules(basedir: string): Promise<OverrideRulesResult> {
  const file = join(basedir, CONNECTION_RULES_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "ENOENT") return { rules: [], errors: [], warnings: [] };
    return {
      rules: [],
      errors: [
        {
          file,
          message: `cannot read the rules file: ${e.code ?? e.message}`,
          allowed: "a readable text file",
        },
      ],
      warnings: [],
    };
  }
  return parseOverrideRules(text, file);
}
