import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type ConfigIssue, NODE_FILES, parseServerListFile } from "@lafs/config";

/**
 * The user's allowed/required choices from BASEDIR/servers-allowed and servers-required.
 * A missing servers-allowed file means every server is allowed (Tahoe's behaviour, and the
 * control panel's default for new servers); once the file exists it is the complete list of
 * allowed servers. A missing servers-required file means none is required.
 */
export interface ServerFlags {
  allowed(serverId: string): boolean;
  required(serverId: string): boolean;
  /** The allowed ids, or undefined when servers-allowed does not exist (everything allowed). */
  readonly allowedIds: ReadonlySet<string> | undefined;
  readonly requiredIds: ReadonlySet<string>;
  /** Line-numbered problems in either file; the lines they name are ignored. */
  readonly issues: readonly ConfigIssue[];
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Builds ServerFlags from the two files' texts (undefined = the file does not exist). */
export function serverFlagsFromText(
  allowedText: string | undefined,
  requiredText: string | undefined,
): ServerFlags {
  const issues: ConfigIssue[] = [];
  let allowedIds: Set<string> | undefined;
  if (allowedText !== undefined) {
    const parsed = parseServerListFile(allowedText, NODE_FILES.serversAllowed);
    issues.push(...parsed.errors);
    allowedIds = new Set(parsed.entries.map((e) => e.serverId));
  }
  const requiredIds = new Set<string>();
  if (requiredText !== undefined) {
    const parsed = parseServerListFile(requiredText, NODE_FILES.serversRequired);
    issues.push(...parsed.errors);
    for (const e of parsed.entries) requiredIds.add(e.serverId);
  }
  return {
    allowed: (id) => allowedIds === undefined || allowedIds.has(id),
    required: (id) => requiredIds.has(id),
    allowedIds,
    requiredIds,
    issues,
  };
}

/**
 * Reads BASEDIR/servers-allowed and BASEDIR/servers-required. Never throws on a user's
 * mistake: bad lines come back in `issues` (the caller shows them; a required server named
 * on a bad line is not required). Read errors other than a missing file are thrown.
 */
export async function serverFlagsFromFiles(basedir: string): Promise<ServerFlags> {
  const [allowedText, requiredText] = await Promise.all([
    readIfPresent(join(basedir, NODE_FILES.serversAllowed)),
    readIfPresent(join(basedir, NODE_FILES.serversRequired)),
  ]);
  return serverFlagsFromText(allowedText, requiredText);
}

/** Copies the flags onto servers (for the uploader's `servers` option). */
export function withServerFlags<T extends { readonly id: string }>(
  servers: readonly T[],
  flags: ServerFlags,
): (T & { allowed: boolean; required: boolean })[] {
  return servers.map((s) => ({ ...s, allowed: flags.allowed(s.id), required: flags.required(s.id) }));
}
