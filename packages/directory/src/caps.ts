import { verifyCapOf as chkVerifyCapOf, formatCap, parseImmutableCap } from "@lafs/immutable";
import {
  formatMutableCap,
  type MutableCap,
  verifyCapOf as mutableVerifyCapOf,
  parseMutableCap,
  readCapOf,
} from "@lafs/mutable";
import { DirectoryError, shownCap } from "./errors.js";

export type DirectoryCapKind =
  | "DIR2"
  | "DIR2-RO"
  | "DIR2-Verifier"
  | "DIR2-MDMF"
  | "DIR2-MDMF-RO"
  | "DIR2-MDMF-Verifier"
  | "DIR2-CHK"
  | "DIR2-CHK-Verifier"
  | "DIR2-LIT";

export type DirectoryFormat = "SDMF" | "MDMF" | "CHK" | "LIT";

/** A parsed directory cap and the file cap it wraps (uri.py's _DirectoryBaseURI). */
export interface DirectoryCap {
  readonly kind: DirectoryCapKind;
  /** The cap in its normal form (MDMF's old extra fields dropped, as Tahoe re-serialises it). */
  readonly text: string;
  /** The cap of the file that holds the packed directory (`URI:SSK:…`, `URI:CHK:…`, …). */
  readonly fileCap: string;
  readonly format: DirectoryFormat;
  readonly writable: boolean;
  /** A verify cap: it can check shares, not list children. */
  readonly verifier: boolean;
  readonly mutable: boolean;
  /** The mutable file's writekey: what encrypts the children's write caps. */
  readonly writekey?: Uint8Array | undefined;
}

interface Wrapping {
  readonly kind: DirectoryCapKind;
  readonly dirPrefix: string;
  readonly filePrefix: string;
  readonly format: DirectoryFormat;
}

const WRAPPINGS: readonly Wrapping[] = (
  [
    ["DIR2", "URI:DIR2:", "URI:SSK:", "SDMF"],
    ["DIR2-RO", "URI:DIR2-RO:", "URI:SSK-RO:", "SDMF"],
    ["DIR2-Verifier", "URI:DIR2-Verifier:", "URI:SSK-Verifier:", "SDMF"],
    ["DIR2-MDMF", "URI:DIR2-MDMF:", "URI:MDMF:", "MDMF"],
    ["DIR2-MDMF-RO", "URI:DIR2-MDMF-RO:", "URI:MDMF-RO:", "MDMF"],
    ["DIR2-MDMF-Verifier", "URI:DIR2-MDMF-Verifier:", "URI:MDMF-Verifier:", "MDMF"],
    ["DIR2-CHK", "URI:DIR2-CHK:", "URI:CHK:", "CHK"],
    ["DIR2-CHK-Verifier", "URI:DIR2-CHK-Verifier:", "URI:CHK-Verifier:", "CHK"],
    ["DIR2-LIT", "URI:DIR2-LIT:", "URI:LIT:", "LIT"],
  ] as const
)
  .map(([kind, dirPrefix, filePrefix, format]) => ({ kind, dirPrefix, filePrefix, format }))
  // Longest prefix first, so URI:DIR2-RO: is not taken for URI:DIR2:.
  .sort((a, b) => b.dirPrefix.length - a.dirPrefix.length);

const BY_FILE_PREFIX = [...WRAPPINGS].sort((a, b) => b.filePrefix.length - a.filePrefix.length);

/** Tahoe's ALLEGED_READONLY_PREFIX and ALLEGED_IMMUTABLE_PREFIX. */
export const READONLY_PREFIX = "ro.";
export const IMMUTABLE_PREFIX = "imm.";

/** uri.from_string strips these before parsing a known cap. */
export function stripAllegedPrefix(cap: string): string {
  if (cap.startsWith(READONLY_PREFIX)) return cap.slice(READONLY_PREFIX.length);
  if (cap.startsWith(IMMUTABLE_PREFIX)) return cap.slice(IMMUTABLE_PREFIX.length);
  return cap;
}

function badDirectoryCap(cap: string, why: string, cause?: unknown): DirectoryError {
  return new DirectoryError("TAHOE_ERR_DIRECTORY_CAP", `not a directory cap (${why}): ${shownCap(cap)}`, {
    hint: "Expected URI:DIR2:, URI:DIR2-RO:, URI:DIR2-MDMF:, URI:DIR2-MDMF-RO:, URI:DIR2-CHK:, URI:DIR2-LIT: or one of their -Verifier forms.",
    cause,
  });
}

function wrap(w: Wrapping, fileCap: string): string {
  return `${w.dirPrefix}${fileCap.slice(w.filePrefix.length)}`;
}

/**
 * Parses a directory cap (any of the nine kinds) as uri.from_string_dirnode does; `ro.`/`imm.`
 * prefixes are stripped first. Throws TAHOE_ERR_DIRECTORY_CAP naming the cap.
 */
export function parseDirectoryCap(cap: string): DirectoryCap {
  if (typeof cap !== "string") throw badDirectoryCap(String(cap), `a ${typeof cap}, not a string`);
  const text = stripAllegedPrefix(cap.trim());
  const w = WRAPPINGS.find((x) => text.startsWith(x.dirPrefix));
  if (w === undefined) throw badDirectoryCap(cap, "unknown prefix");
  const inner = `${w.filePrefix}${text.slice(w.dirPrefix.length)}`;
  const verifier = w.kind.endsWith("-Verifier");
  if (w.format === "SDMF" || w.format === "MDMF") {
    let parsed: MutableCap;
    try {
      parsed = parseMutableCap(inner);
    } catch (error) {
      throw badDirectoryCap(cap, (error as Error).message, error);
    }
    const fileCap = formatMutableCap(parsed);
    return {
      kind: w.kind,
      text: wrap(w, fileCap),
      fileCap,
      format: w.format,
      writable: parsed.kind === "write",
      verifier,
      mutable: true,
      writekey: parsed.kind === "write" ? parsed.writekey : undefined,
    };
  }
  try {
    const fileCap = formatCap(parseImmutableCap(inner));
    return {
      kind: w.kind,
      text: wrap(w, fileCap),
      fileCap,
      format: w.format,
      writable: false,
      verifier,
      mutable: false,
    };
  } catch (error) {
    throw badDirectoryCap(cap, (error as Error).message, error);
  }
}

export function isDirectoryCap(cap: string): boolean {
  try {
    parseDirectoryCap(cap);
    return true;
  } catch {
    return false;
  }
}

function wrappingOfKind(kind: DirectoryCapKind): Wrapping {
  return WRAPPINGS.find((w) => w.kind === kind)!;
}

/** The directory cap that wraps a file cap: `URI:SSK:…` → `URI:DIR2:…` and so on. */
export function directoryCapOfFileCap(fileCap: string): string {
  const w = BY_FILE_PREFIX.find((x) => fileCap.startsWith(x.filePrefix));
  if (w === undefined) throw badDirectoryCap(fileCap, "not a file cap a directory can be stored in");
  return parseDirectoryCap(wrap(w, fileCap)).text;
}

/** The read-only cap of a directory (itself for read-only and immutable ones); undefined for a verify cap. */
export function readOnlyDirectoryCap(cap: DirectoryCap): string | undefined {
  if (cap.verifier) return undefined;
  if (!cap.writable) return cap.text;
  const write = parseMutableCap(cap.fileCap);
  if (write.kind !== "write") return cap.text;
  const read = formatMutableCap(readCapOf(write));
  return wrap(wrappingOfKind(cap.kind === "DIR2" ? "DIR2-RO" : "DIR2-MDMF-RO"), read);
}

/** The verify cap of a directory; undefined for DIR2-LIT (Tahoe's get_verify_cap() is None). */
export function verifyDirectoryCap(cap: DirectoryCap): string | undefined {
  if (cap.verifier) return cap.text;
  if (cap.format === "LIT") return undefined;
  if (cap.format === "CHK") {
    const chk = parseImmutableCap(cap.fileCap);
    if (chk.kind !== "chk") return undefined;
    return wrap(wrappingOfKind("DIR2-CHK-Verifier"), formatCap(chkVerifyCapOf(chk)));
  }
  const verify = formatMutableCap(mutableVerifyCapOf(parseMutableCap(cap.fileCap)));
  return wrap(wrappingOfKind(cap.format === "SDMF" ? "DIR2-Verifier" : "DIR2-MDMF-Verifier"), verify);
}
