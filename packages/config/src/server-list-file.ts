import { decodeBase32Exact } from "./furl.js";
import type { ConfigIssue } from "./issues.js";
import { ConfigValueError } from "./issues.js";

/** One line of `servers-allowed` / `servers-required`. */
export interface ServerListEntry {
  serverId: string;
  /** The whitespace-separated words after the id (the nickname, for instance), as written. */
  fields: string[];
  line: number;
}

export interface ServerListParseResult {
  entries: ServerListEntry[];
  errors: ConfigIssue[];
}

const SERVER_ID_FORM =
  "a server id is v0- followed by 52 base32 characters (a-z, 2-7): the node's ed25519 public key";

/** Tahoe's node id: `v0-` + the canonical base32 of a 32-byte ed25519 public key. */
export function isServerId(text: string): boolean {
  return text.startsWith("v0-") && decodeBase32Exact(text.slice(3), 32) !== undefined;
}

/**
 * Parses a flat server list: one server id per line, then optional whitespace-separated fields.
 * Lines whose first non-blank character is `#` are comments (a `#` later on a line is data, so a
 * nickname may contain one). Never throws: bad and duplicate ids become line-numbered issues, and
 * every valid line is kept.
 */
export function parseServerListFile(text: string, file: string): ServerListParseResult {
  const entries: ServerListEntry[] = [];
  const errors: ConfigIssue[] = [];
  const firstLine = new Map<string, number>();
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = index + 1;
    const content = raw.trim();
    if (content === "" || content.startsWith("#")) return;
    const [serverId, ...fields] = content.split(/\s+/);
    if (!serverId || !isServerId(serverId)) {
      errors.push({ file, line, message: `'${serverId}' is not a server id`, allowed: SERVER_ID_FORM });
      return;
    }
    const earlier = firstLine.get(serverId);
    if (earlier !== undefined) {
      errors.push({
        file,
        line,
        message: `server id '${serverId}' is listed again (first on line ${earlier})`,
        allowed: "list each server once; this line is ignored",
      });
      return;
    }
    firstLine.set(serverId, line);
    entries.push({ serverId, fields, line });
  });
  return { entries, errors };
}

/**
 * Writes a flat server list. A field is reduced to one word per whitespace run (nicknames come
 * from announcements, so a newline in one must not start a new entry). `header` lines become
 * `# ` comments. Throws ConfigValueError (TAHOE_ERR_CONFIG_SERVER_ID) for an invalid id.
 */
export function formatServerListFile(
  entries: readonly { serverId: string; fields?: readonly string[] }[],
  header?: string,
): string {
  let out = "";
  if (header !== undefined) {
    for (const h of header.split(/\r?\n/)) out += h === "" ? "#\n" : `# ${h}\n`;
  }
  for (const entry of entries) {
    if (!isServerId(entry.serverId)) {
      throw new ConfigValueError("TAHOE_ERR_CONFIG_SERVER_ID", `'${entry.serverId}' is not a server id`, {
        hint: SERVER_ID_FORM,
      });
    }
    const words = (entry.fields ?? []).flatMap((f) => f.split(/\s+/)).filter((w) => w !== "");
    out += [entry.serverId, ...words].join(" ");
    out += "\n";
  }
  return out;
}
