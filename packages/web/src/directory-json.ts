import { isPythonFloatKey, pythonNumber } from "@lafs/directory";
import { formatChkVerifyCap, parseChkReadCap, parseImmutableCap, verifyCapOf } from "@lafs/immutable";
import { formatMutableCap, verifyCapOf as mutableVerifyCapOf, parseMutableCap } from "@lafs/mutable";
import type { WebDirectory, WebDirectoryEntry } from "./web-node.js";

const DIR_TO_FILE: readonly [string, string, string][] = [
  // directory prefix, backing file prefix, directory verifier prefix
  ["URI:DIR2-MDMF-RO:", "URI:MDMF-RO:", "URI:DIR2-MDMF-Verifier:"],
  ["URI:DIR2-MDMF:", "URI:MDMF:", "URI:DIR2-MDMF-Verifier:"],
  ["URI:DIR2-RO:", "URI:SSK-RO:", "URI:DIR2-Verifier:"],
  ["URI:DIR2:", "URI:SSK:", "URI:DIR2-Verifier:"],
];

/** True for a cap the node serves as a directory (not a verifier: that can only be checked). */
export function isDirectoryCapText(cap: string): boolean {
  return /^URI:DIR2(-RO|-MDMF|-MDMF-RO|-CHK|-LIT)?:/.test(cap);
}

/** A cap's verify cap as Tahoe's get_verify_cap gives it; undefined for LIT and unknown caps. */
export function verifyCapText(cap: string): string | undefined {
  try {
    for (const [dir, file, verifier] of DIR_TO_FILE) {
      if (cap.startsWith(dir)) {
        const v = formatMutableCap(mutableVerifyCapOf(parseMutableCap(file + cap.slice(dir.length))));
        return verifier + v.slice(v.indexOf(":", 4) + 1);
      }
    }
    if (cap.startsWith("URI:DIR2-CHK:")) {
      const v = formatChkVerifyCap(verifyCapOf(parseChkReadCap(`URI:CHK:${cap.slice(13)}`)));
      return `URI:DIR2-CHK-Verifier:${v.slice("URI:CHK-Verifier:".length)}`;
    }
    if (cap.startsWith("URI:SSK") || cap.startsWith("URI:MDMF")) {
      return formatMutableCap(mutableVerifyCapOf(parseMutableCap(cap)));
    }
    if (cap.startsWith("URI:CHK:")) return formatChkVerifyCap(verifyCapOf(parseChkReadCap(cap)));
  } catch {
    return undefined;
  }
  return undefined;
}

/** Tahoe's get_filenode_metadata: mutable, format (CHK for LIT too), size when the cap says it. */
function fileMetadata(cap: string): Record<string, unknown> {
  if (cap.startsWith("URI:SSK") || cap.startsWith("URI:MDMF")) {
    return { mutable: true, format: cap.startsWith("URI:SSK") ? "SDMF" : "MDMF" };
  }
  const out: Record<string, unknown> = { mutable: false, format: "CHK" };
  try {
    const parsed = parseImmutableCap(cap);
    out.size = parsed.kind === "lit" ? parsed.data.length : parsed.size;
  } catch {
    // An unreadable cap has no size to show.
  }
  return out;
}

/** One child in Tahoe's `[type, {...}]` form (web/directory.py DirectoryJSONMetadata). */
export function childJson(entry: WebDirectoryEntry): [string, Record<string, unknown>] {
  const cap = entry.writeCap ?? entry.readCap ?? "";
  let data: Record<string, unknown>;
  if (entry.kind === "filenode") data = fileMetadata(cap);
  else if (entry.kind === "dirnode") data = { mutable: !/^URI:DIR2-(CHK|LIT):/.test(cap) };
  else data = {};
  data.metadata = entry.metadata;
  if (entry.writeCap) data.rw_uri = entry.writeCap;
  if (entry.readCap) data.ro_uri = entry.readCap;
  const verify = entry.kind === "unknown" ? undefined : verifyCapText(cap);
  if (verify !== undefined) data.verify_uri = verify;
  return [entry.kind, data];
}

export function directoryJson(dir: WebDirectory, entries: readonly WebDirectoryEntry[]): unknown {
  const children: Record<string, unknown> = {};
  for (const entry of entries) children[entry.name] = childJson(entry);
  const contents: Record<string, unknown> = { children };
  contents.ro_uri = dir.readCap;
  if (dir.writable) contents.rw_uri = dir.cap;
  if (dir.verifyCap !== undefined) contents.verify_uri = dir.verifyCap;
  contents.mutable = dir.format === "SDMF" || dir.format === "MDMF";
  return ["dirnode", contents];
}

/**
 * Python's `json.dumps(value, indent=N)`: ',' and ': ' separators, non-ASCII as \uXXXX
 * (ensure_ascii), key order kept; an empty object or list stays on one line. Numbers as the
 * dirnode metadata holds them: link and stat times are Python floats (`1700000000.0`), the
 * rest ints unless fractional (the rule @lafs/directory packs by).
 */
export function pythonJson(value: unknown, indent = 1, depth = 0, floatKey = false): string {
  const pad = (d: number) => `\n${" ".repeat(indent * d)}`;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[${value.map((v) => pad(depth + 1) + pythonJson(v, indent, depth + 1)).join(",")}${pad(depth)}]`;
  }
  if (value !== null && typeof value === "object") {
    const keys = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (keys.length === 0) return "{}";
    const items = keys.map(
      ([k, v]) =>
        `${pad(depth + 1)}${asciiString(k)}: ${pythonJson(v, indent, depth + 1, isPythonFloatKey(k))}`,
    );
    return `{${items.join(",")}${pad(depth)}}`;
  }
  if (typeof value === "string") return asciiString(value);
  if (typeof value === "number" && Number.isFinite(value)) return pythonNumber(value, floatKey);
  return JSON.stringify(value) ?? "null";
}

function asciiString(text: string): string {
  return JSON.stringify(text).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
