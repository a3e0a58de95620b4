import { base32Decode, base32Encode, taggedHash } from "@lafs/crypto";
import { ImmutableError } from "./errors.js";

const STORAGE_INDEX_TAG = "allmydata_immutable_key_to_storage_index_v1";

/** A `URI:CHK:` read cap: enough to find, verify, decode and decrypt the file. */
export interface ChkReadCap {
  readonly kind: "chk";
  /** The 16-byte AES key. */
  readonly key: Uint8Array;
  readonly uebHash: Uint8Array;
  readonly k: number;
  readonly n: number;
  readonly size: number;
}

/** A `URI:CHK-Verifier:` cap: enough to find and check shares, not to decrypt. */
export interface ChkVerifyCap {
  readonly kind: "chk-verifier";
  readonly storageIndex: Uint8Array;
  readonly uebHash: Uint8Array;
  readonly k: number;
  readonly n: number;
  readonly size: number;
}

/** A `URI:LIT:` cap: the file itself (at most 55 bytes), base32-encoded. */
export interface LiteralCap {
  readonly kind: "lit";
  readonly data: Uint8Array;
}

export type ImmutableCap = ChkReadCap | ChkVerifyCap | LiteralCap;

/** SI = tagged_hash("allmydata_immutable_key_to_storage_index_v1", key)[0:16]. */
export function storageIndexOfKey(key: Uint8Array): Buffer {
  return taggedHash(STORAGE_INDEX_TAG, key, 16);
}

export function formatChkReadCap(cap: Omit<ChkReadCap, "kind">): string {
  return `URI:CHK:${base32Encode(cap.key)}:${base32Encode(cap.uebHash)}:${cap.k}:${cap.n}:${cap.size}`;
}

export function formatChkVerifyCap(cap: Omit<ChkVerifyCap, "kind">): string {
  return `URI:CHK-Verifier:${base32Encode(cap.storageIndex)}:${base32Encode(cap.uebHash)}:${cap.k}:${cap.n}:${cap.size}`;
}

export function formatLiteralCap(data: Uint8Array): string {
  return `URI:LIT:${base32Encode(data)}`;
}

export function formatCap(cap: ImmutableCap): string {
  if (cap.kind === "lit") return formatLiteralCap(cap.data);
  return cap.kind === "chk" ? formatChkReadCap(cap) : formatChkVerifyCap(cap);
}

/** The verify cap of a read cap: the key is replaced by the storage index it implies. */
export function verifyCapOf(cap: ChkReadCap): ChkVerifyCap {
  return {
    kind: "chk-verifier",
    storageIndex: storageIndexOfKey(cap.key),
    uebHash: cap.uebHash,
    k: cap.k,
    n: cap.n,
    size: cap.size,
  };
}

const B32 = "[a-z2-7]";
const CHK_RE = new RegExp(`^URI:CHK:(${B32}{25}[aeimquy4]):(${B32}{51}[aq]):(\\d+):(\\d+):(\\d+)$`);
const VERIFIER_RE = new RegExp(
  `^URI:CHK-Verifier:(${B32}{25}[aeimquy4]):(${B32}{51}[aq]):(\\d+):(\\d+):(\\d+)$`,
);
const LIT_RE = new RegExp(`^URI:LIT:(${B32}*)$`);

function badCap(text: string, why: string): ImmutableError {
  const shown = text.length > 140 ? `${text.slice(0, 140)}...` : text;
  return new ImmutableError(
    "TAHOE_ERR_IMMUTABLE_CAP",
    `not an immutable file cap (${why}): ${JSON.stringify(shown)}`,
    {
      hint: "Expected URI:CHK:KEY:UEBHASH:K:N:SIZE, URI:CHK-Verifier:SI:UEBHASH:K:N:SIZE or URI:LIT:DATA, with lower-case base32 fields.",
    },
  );
}

function numbers(text: string, k: string, n: string, size: string): { k: number; n: number; size: number } {
  const out = { k: Number(k), n: Number(n), size: Number(size) };
  if (out.k < 1 || out.n > 256 || out.k > out.n)
    throw badCap(text, `k=${k}, n=${n} is not 1 <= k <= n <= 256`);
  if (!Number.isSafeInteger(out.size)) throw badCap(text, `size ${size} is too large`);
  return out;
}

/** Parses `URI:CHK:`, `URI:CHK-Verifier:` or `URI:LIT:`; throws TAHOE_ERR_IMMUTABLE_CAP. */
export function parseImmutableCap(text: string): ImmutableCap {
  const trimmed = text.trim();
  let m = CHK_RE.exec(trimmed);
  if (m) {
    return {
      kind: "chk",
      key: base32Decode(m[1]!),
      uebHash: base32Decode(m[2]!),
      ...numbers(trimmed, m[3]!, m[4]!, m[5]!),
    };
  }
  m = VERIFIER_RE.exec(trimmed);
  if (m) {
    return {
      kind: "chk-verifier",
      storageIndex: base32Decode(m[1]!),
      uebHash: base32Decode(m[2]!),
      ...numbers(trimmed, m[3]!, m[4]!, m[5]!),
    };
  }
  m = LIT_RE.exec(trimmed);
  if (m) {
    try {
      return { kind: "lit", data: base32Decode(m[1]!, "LIT cap data") };
    } catch (error) {
      throw badCap(trimmed, (error as Error).message);
    }
  }
  const why = trimmed.startsWith("URI:CHK:")
    ? "a field is not base32 of the right length, or a number is missing"
    : "unknown prefix";
  throw badCap(trimmed, why);
}

/** Parses a `URI:CHK:` read cap only. */
export function parseChkReadCap(text: string): ChkReadCap {
  const cap = parseImmutableCap(text);
  if (cap.kind !== "chk") throw badCap(text, `a ${cap.kind} cap, not a CHK read cap`);
  return cap;
}
