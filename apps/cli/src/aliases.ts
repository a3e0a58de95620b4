import { existsSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { TahoeError } from "@lafs/interface";
import { formatMutableCap, parseMutableCap, readCapOf } from "@lafs/mutable";

/** Tahoe's default alias (@lafs/config's DEFAULT_ALIAS, repeated so that help and --version need not load config). */
export const DEFAULT_ALIAS = "tahoe";

/**
 * One reading of private/aliases for the CLI and the node's welcome page (@lafs/config's), loaded
 * when a verb first needs it: config brings zod, which `tahoe --help` should not pay for.
 */
export async function readAliases(nodeDir: string): Promise<Map<string, string>> {
  const config = await import("@lafs/config");
  return config.readAliases(nodeDir);
}

export type AliasErrorCode =
  | "TAHOE_ERR_CLI_ALIAS"
  | "TAHOE_ERR_CLI_UNKNOWN_ALIAS"
  | "TAHOE_ERR_CLI_NOT_A_DIRCAP";

export class AliasError extends TahoeError {
  declare readonly code: AliasErrorCode;
  constructor(code: AliasErrorCode, message: string, hint: string, cause?: unknown) {
    super(code, message, { hint, cause });
  }
}

function aliasFile(nodeDir: string): string {
  return join(nodeDir, "private", "aliases");
}

/** `tahoe add-alias tahoe:` means the alias `tahoe`: one trailing colon is dropped, as Tahoe's option parser does. */
export function aliasArgument(typed: string): string {
  return typed.endsWith(":") ? typed.slice(0, -1) : typed;
}

/** Tahoe refuses these two with "Alias names cannot contain colons." / "... spaces." */
export function checkAliasName(alias: string): void {
  if (alias.includes(":")) {
    throw new AliasError(
      "TAHOE_ERR_CLI_ALIAS",
      "Alias names cannot contain colons.",
      "Pick a name without ':'.",
    );
  }
  if (alias.includes(" ")) {
    throw new AliasError(
      "TAHOE_ERR_CLI_ALIAS",
      "Alias names cannot contain spaces.",
      "Pick a name without spaces.",
    );
  }
  if (alias === "") {
    throw new AliasError(
      "TAHOE_ERR_CLI_ALIAS",
      "Alias names cannot be empty.",
      "Give a name, for example 'tahoe'.",
    );
  }
}

export function refuseExisting(alias: string, aliases: ReadonlyMap<string, string>): void {
  if (aliases.has(alias)) {
    throw new AliasError(
      "TAHOE_ERR_CLI_ALIAS",
      `Alias '${alias}' already exists!`,
      "Pick another name, or edit NODEDIR/private/aliases to change what it points at.",
    );
  }
}

/**
 * Tahoe's add_line_to_aliasfile: the whole file rewritten through aliases.tmp and a rename, so a
 * crash never leaves half a file; an existing file without a final newline gets one first.
 */
export async function appendAlias(nodeDir: string, alias: string, cap: string): Promise<void> {
  const file = aliasFile(nodeDir);
  let text = "";
  if (existsSync(file)) {
    text = await readFile(file, "utf8");
    if (text !== "" && !text.endsWith("\n")) text += "\n";
  }
  text += `${alias}: ${cap}\n`;
  try {
    await writeFile(`${file}.tmp`, text, { encoding: "utf8", mode: 0o600 });
    await rename(`${file}.tmp`, file);
  } catch (error) {
    throw new AliasError(
      "TAHOE_ERR_CLI_ALIAS",
      `cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      "Check that NODEDIR/private exists and is writable (give the node directory with -d).",
      error,
    );
  }
}

const MUTABLE_DIR_KINDS: readonly [string, string][] = [
  ["URI:DIR2-MDMF-RO:", "URI:MDMF-RO:"],
  ["URI:DIR2-MDMF:", "URI:MDMF:"],
  ["URI:DIR2-RO:", "URI:SSK-RO:"],
  ["URI:DIR2:", "URI:SSK:"],
];

function notADirCap(cap: string, why: string, cause?: unknown): AliasError {
  const shown = cap.length > 120 ? `${cap.slice(0, 120)}...` : cap;
  return new AliasError(
    "TAHOE_ERR_CLI_NOT_A_DIRCAP",
    `'${shown}' is not a directory cap: ${why}`,
    "An alias names a directory: URI:DIR2:..., URI:DIR2-RO:..., URI:DIR2-MDMF:..., URI:DIR2-MDMF-RO:..., URI:DIR2-CHK:... or URI:DIR2-LIT:... (tahoe create-alias makes one).",
    cause,
  );
}

/**
 * A directory cap checked and in its canonical form, with its read-only form (Tahoe's
 * `uri.from_string_dirnode(cap).to_string()` and `.get_readonly()`). A mutable directory's
 * cap is its backing SSK/MDMF cap under a DIR2 prefix; an immutable one is its own read cap.
 */
export function directoryCapForms(cap: string): { readwrite: string; readonly: string } {
  const trimmed = cap.trim();
  for (const [dirPrefix, filePrefix] of MUTABLE_DIR_KINDS) {
    if (!trimmed.startsWith(dirPrefix)) continue;
    let parsed: ReturnType<typeof parseMutableCap>;
    try {
      parsed = parseMutableCap(filePrefix + trimmed.slice(dirPrefix.length));
    } catch (error) {
      throw notADirCap(cap, (error as Error).message.replace(/^not a mutable file cap /, ""), error);
    }
    if (parsed.kind === "verify") throw notADirCap(cap, "a verify cap");
    const asDir = (text: string) =>
      text.replace(/^URI:(SSK|MDMF)/, (_m, f) => (f === "SSK" ? "URI:DIR2" : "URI:DIR2-MDMF"));
    return {
      readwrite: asDir(formatMutableCap(parsed)),
      readonly: asDir(formatMutableCap(readCapOf(parsed))),
    };
  }
  if (/^URI:DIR2-(CHK|LIT):/.test(trimmed)) return { readwrite: trimmed, readonly: trimmed };
  throw notADirCap(cap, "unknown prefix");
}

/** Where an `ALIAS:path` argument points: a directory cap and a '/'-separated path under it. */
export interface GridPath {
  readonly rootCap: string;
  readonly path: string;
  /** As typed, for messages. */
  readonly typed: string;
}

/** Tahoe's `has_uri_prefix`. */
function hasUriPrefix(text: string): boolean {
  return text.startsWith("URI:") || text.startsWith("uri:");
}

function unknownAlias(message: string): AliasError {
  return new AliasError(
    "TAHOE_ERR_CLI_UNKNOWN_ALIAS",
    message,
    "tahoe list-aliases shows the aliases of this node directory (-d NODEDIR picks another).",
  );
}

/**
 * Tahoe's get_alias. `URI:...:./path` or `URI:.../path` use a cap directly; `NAME:path` an
 * alias; text with no ':' (or with a '/' before the first ':', like `foo/bar:7`) is a path under
 * `defaultAlias`. With defaultAlias null (tahoe cp), such text is a local path: undefined.
 */
export function resolveGridPath(
  typed: string,
  aliases: ReadonlyMap<string, string>,
  defaultAlias: string | null = DEFAULT_ALIAS,
): GridPath | undefined {
  const text = typed.replace(/^ +| +$/g, "");
  if (hasUriPrefix(text)) {
    const dotted = text.indexOf(":./");
    if (dotted !== -1) return { rootCap: text.slice(0, dotted), path: text.slice(dotted + 3), typed };
    const slash = text.indexOf("/");
    if (slash !== -1) return { rootCap: text.slice(0, slash), path: text.slice(slash + 1), typed };
    return { rootCap: text, path: "", typed };
  }
  const colon = text.indexOf(":");
  const alias = colon === -1 ? undefined : text.slice(0, colon);
  if (alias === undefined || alias.includes("/")) {
    if (defaultAlias === null) return undefined;
    const cap = aliases.get(defaultAlias);
    if (cap === undefined) {
      throw unknownAlias(
        `No alias specified, and the default '${defaultAlias}' alias doesn't exist. To create it, use 'tahoe create-alias ${defaultAlias}'.`,
      );
    }
    return { rootCap: directoryCapForms(cap).readwrite, path: text, typed };
  }
  const cap = aliases.get(alias);
  if (cap === undefined) {
    throw unknownAlias(
      `Unknown alias '${alias}', please create it with 'tahoe add-alias' or 'tahoe create-alias'.`,
    );
  }
  return { rootCap: directoryCapForms(cap).readwrite, path: text.slice(colon + 1), typed };
}

/**
 * The web API path of a grid path: `uri/CAP[/a/b]`, each name percent-encoded as Tahoe's
 * escape_path does (UTF-8, '/' kept as the separator).
 */
export function gridPathUrl(target: GridPath): string {
  const base = `uri/${encodeURIComponent(target.rootCap)}`;
  if (target.path === "") return base;
  return `${base}/${target.path.split("/").map(encodeURIComponent).join("/")}`;
}
