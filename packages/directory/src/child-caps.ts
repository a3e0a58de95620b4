import { parseImmutableCap } from "@lafs/immutable";
import { formatMutableCap, parseMutableCap, readCapOf } from "@lafs/mutable";
import { IMMUTABLE_PREFIX, parseDirectoryCap, READONLY_PREFIX, readOnlyDirectoryCap } from "./caps.js";

/** What a child's cap is, as Tahoe's nodemaker sees it: anything it cannot make a node of is "unknown". */
export interface ChildCapInfo {
  readonly kind: "dirnode" | "filenode" | "unknown";
  /** Undefined for unknown caps. */
  readonly mutable: boolean | undefined;
  /** A write cap (URI:SSK:, URI:MDMF:, URI:DIR2:, URI:DIR2-MDMF:). */
  readonly isWriteCap: boolean;
  /** CHK, LIT, DIR2-CHK, DIR2-LIT: may sit in an immutable directory. */
  readonly deepImmutable: boolean;
  /** The read-only form of the cap (itself for a read cap); undefined for unknown caps. */
  readonly readCap: string | undefined;
  /** Set when the cap has a known prefix but does not parse: Tahoe makes an opaque node with this error. */
  readonly error?: string | undefined;
}

/** Prefixes uri.from_string knows; a cap with one of them that does not parse is an error, not "unknown". */
const KNOWN_PREFIXES = [
  "URI:DIR2:",
  "URI:DIR2-RO:",
  "URI:DIR2-Verifier:",
  "URI:DIR2-MDMF:",
  "URI:DIR2-MDMF-RO:",
  "URI:DIR2-MDMF-Verifier:",
  "URI:DIR2-CHK:",
  "URI:DIR2-CHK-Verifier:",
  "URI:DIR2-LIT:",
  "URI:SSK:",
  "URI:SSK-RO:",
  "URI:SSK-Verifier:",
  "URI:MDMF:",
  "URI:MDMF-RO:",
  "URI:MDMF-Verifier:",
  "URI:CHK:",
  "URI:CHK-Verifier:",
  "URI:LIT:",
];

function unknown(error?: string): ChildCapInfo {
  return {
    kind: "unknown",
    mutable: undefined,
    isWriteCap: false,
    deepImmutable: false,
    readCap: undefined,
    error,
  };
}

/** Classifies a child cap (with `ro.`/`imm.` stripped first, as uri.from_string does). */
export function classifyChildCap(cap: string): ChildCapInfo {
  const bare = cap.startsWith(READONLY_PREFIX)
    ? cap.slice(READONLY_PREFIX.length)
    : cap.startsWith(IMMUTABLE_PREFIX)
      ? cap.slice(IMMUTABLE_PREFIX.length)
      : cap;
  try {
    if (bare.startsWith("URI:DIR2")) {
      const dir = parseDirectoryCap(bare);
      if (dir.verifier) return unknown();
      return {
        kind: "dirnode",
        mutable: dir.mutable,
        isWriteCap: dir.writable,
        deepImmutable: !dir.mutable,
        readCap: readOnlyDirectoryCap(dir),
      };
    }
    if (bare.startsWith("URI:SSK") || bare.startsWith("URI:MDMF")) {
      const m = parseMutableCap(bare);
      if (m.kind === "verify") return unknown();
      return {
        kind: "filenode",
        mutable: true,
        isWriteCap: m.kind === "write",
        deepImmutable: false,
        readCap: formatMutableCap(readCapOf(m)),
      };
    }
    if (bare.startsWith("URI:CHK:") || bare.startsWith("URI:LIT:")) {
      const c = parseImmutableCap(bare);
      if (c.kind === "chk-verifier") return unknown();
      return { kind: "filenode", mutable: false, isWriteCap: false, deepImmutable: true, readCap: bare };
    }
  } catch (error) {
    return KNOWN_PREFIXES.some((p) => bare.startsWith(p)) ? unknown((error as Error).message) : unknown();
  }
  return unknown();
}
