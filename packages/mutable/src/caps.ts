import { base32Decode, base32Encode, base32Length } from "@lafs/crypto";
import { readkeyOf, storageIndexOfReadkey } from "./derive.js";
import { MutableError } from "./errors.js";

/** SDMF is share version 0 (`URI:SSK…`), MDMF version 1 (`URI:MDMF…`). */
export type MutableFormat = "SDMF" | "MDMF";

export interface MutableWriteCap {
  readonly kind: "write";
  readonly format: MutableFormat;
  readonly writekey: Uint8Array;
  readonly fingerprint: Uint8Array;
}

export interface MutableReadCap {
  readonly kind: "read";
  readonly format: MutableFormat;
  readonly readkey: Uint8Array;
  readonly fingerprint: Uint8Array;
}

export interface MutableVerifyCap {
  readonly kind: "verify";
  readonly format: MutableFormat;
  readonly storageIndex: Uint8Array;
  readonly fingerprint: Uint8Array;
}

export type MutableCap = MutableWriteCap | MutableReadCap | MutableVerifyCap;

const PREFIXES: Record<MutableFormat, Record<MutableCap["kind"], string>> = {
  SDMF: { write: "URI:SSK:", read: "URI:SSK-RO:", verify: "URI:SSK-Verifier:" },
  MDMF: { write: "URI:MDMF:", read: "URI:MDMF-RO:", verify: "URI:MDMF-Verifier:" },
};

const FIRST_FIELD: Record<MutableCap["kind"], string> = {
  write: "writekey",
  read: "readkey",
  verify: "storage index",
};

/** Longest prefix first, so `URI:SSK-RO:` is not taken for `URI:SSK:`. */
const KNOWN = (Object.entries(PREFIXES) as [MutableFormat, Record<MutableCap["kind"], string>][])
  .flatMap(([format, kinds]) =>
    (Object.entries(kinds) as [MutableCap["kind"], string][]).map(([kind, prefix]) => ({
      format,
      kind,
      prefix,
    })),
  )
  .sort((a, b) => b.prefix.length - a.prefix.length);

export function formatMutableCap(cap: MutableCap): string {
  const first = cap.kind === "write" ? cap.writekey : cap.kind === "read" ? cap.readkey : cap.storageIndex;
  return `${PREFIXES[cap.format][cap.kind]}${base32Encode(first)}:${base32Encode(cap.fingerprint)}`;
}

function badCap(text: string, why: string): MutableError {
  const shown = text.length > 160 ? `${text.slice(0, 160)}...` : text;
  return new MutableError(
    "TAHOE_ERR_MUTABLE_CAP",
    `not a mutable file cap (${why}): ${JSON.stringify(shown)}`,
    {
      hint: "Expected URI:SSK:, URI:SSK-RO:, URI:SSK-Verifier:, URI:MDMF:, URI:MDMF-RO: or URI:MDMF-Verifier: followed by a 26-character and a 52-character lower-case base32 field, separated by ':'.",
    },
  );
}

function field(text: string, value: string | undefined, name: string, bytes: number): Uint8Array {
  if (value === undefined || value === "") throw badCap(text, `the ${name} field is missing`);
  const chars = base32Length(bytes);
  if (value.length !== chars) {
    throw badCap(
      text,
      `the ${name} field is ${value.length} characters; it must be ${chars} (${bytes} bytes of base32)`,
    );
  }
  try {
    return base32Decode(value, `the ${name} field`);
  } catch (error) {
    throw badCap(text, (error as Error).message);
  }
}

/**
 * Parses any of the six mutable file caps, as strictly as Tahoe's `uri.py`: SSK caps have
 * exactly two fields; MDMF caps may carry extra `:`-separated fields (old `:k:segsize` hints),
 * which are ignored and dropped when the cap is formatted again. Throws TAHOE_ERR_MUTABLE_CAP
 * with the cap and what is wrong.
 */
export function parseMutableCap(text: string): MutableCap {
  if (typeof text !== "string") throw badCap(String(text), `a ${typeof text}, not a string`);
  const known = KNOWN.find((k) => text.startsWith(k.prefix));
  if (known === undefined) {
    const why =
      /^uri:(ssk|mdmf)/i.test(text) && !text.startsWith("URI:")
        ? "the prefix must be upper-case URI:"
        : "unknown prefix";
    throw badCap(text, why);
  }
  const fields = text.slice(known.prefix.length).split(":");
  if (known.format === "SDMF" && fields.length > 2) {
    throw badCap(text, `${known.prefix} caps have exactly two fields, this one has ${fields.length}`);
  }
  const first = field(text, fields[0], FIRST_FIELD[known.kind], 16);
  const fingerprint = field(text, fields[1], "fingerprint", 32);
  if (known.kind === "write") return { kind: "write", format: known.format, writekey: first, fingerprint };
  if (known.kind === "read") return { kind: "read", format: known.format, readkey: first, fingerprint };
  return { kind: "verify", format: known.format, storageIndex: first, fingerprint };
}

/** True when `text` starts like a mutable file cap (it may still fail to parse). */
export function looksLikeMutableCap(text: string): boolean {
  return KNOWN.some((k) => text.startsWith(k.prefix));
}

/** The read cap of a write cap (readkey from writekey, same fingerprint); a read cap is returned as is. */
export function readCapOf(cap: MutableWriteCap | MutableReadCap): MutableReadCap {
  if (cap.kind === "read") return cap;
  return { kind: "read", format: cap.format, readkey: readkeyOf(cap.writekey), fingerprint: cap.fingerprint };
}

/** The verify cap of any mutable cap. */
export function verifyCapOf(cap: MutableCap): MutableVerifyCap {
  if (cap.kind === "verify") return cap;
  const read = readCapOf(cap);
  return {
    kind: "verify",
    format: cap.format,
    storageIndex: storageIndexOfReadkey(read.readkey),
    fingerprint: cap.fingerprint,
  };
}

export function storageIndexOfCap(cap: MutableCap): Uint8Array {
  return verifyCapOf(cap).storageIndex;
}

/** The three caps of a file, given its writekey and fingerprint. */
export function mutableCapsOf(
  format: MutableFormat,
  writekey: Uint8Array,
  fingerprint: Uint8Array,
): { write: MutableWriteCap; read: MutableReadCap; verify: MutableVerifyCap } {
  const write: MutableWriteCap = { kind: "write", format, writekey, fingerprint };
  return { write, read: readCapOf(write), verify: verifyCapOf(write) };
}
