import { readFile } from "node:fs/promises";
import { join } from "node:path";

/** Tahoe-LAFS's DEFAULT_ALIAS: a path with no `ALIAS:` uses it. */
export const DEFAULT_ALIAS = "tahoe";

/**
 * Tahoe's get_aliases: `tahoe` from private/root_dir.cap when it has one, then every
 * `NAME: CAP` line of private/aliases (split at the first ':', '#' lines and empty lines
 * skipped; a later line wins, as in Tahoe's dict). The CLI resolves paths with it; the
 * welcome page lists them.
 */
export async function readAliases(nodeDir: string): Promise<Map<string, string>> {
  const aliases = new Map<string, string>();
  const root = await readFile(join(nodeDir, "private", "root_dir.cap"), "utf8").catch(() => "");
  if (root.trim() !== "") aliases.set(DEFAULT_ALIAS, root.trim());
  const text = await readFile(join(nodeDir, "private", "aliases"), "utf8").catch(() => "");
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    if (colon === -1) continue;
    aliases.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return aliases;
}
