import { taggedHash } from "@lafs/crypto";

export const UEB_TAG = "allmydata_uri_extension_v1";

/** The URI extension block's fields (spec §2.8); hashes are 32 raw bytes. */
export interface Ueb {
  readonly codecName: string;
  /** "segsize-k-n". */
  readonly codecParams: string;
  /** "paddedTailSize-k-n". */
  readonly tailCodecParams: string;
  readonly size: number;
  readonly segmentSize: number;
  readonly numSegments: number;
  readonly neededShares: number;
  readonly totalShares: number;
  readonly crypttextHash: Uint8Array;
  readonly crypttextRootHash: Uint8Array;
  readonly shareRootHash: Uint8Array;
}

export interface UebShape {
  readonly size: number;
  readonly segmentSize: number;
  readonly numSegments: number;
  readonly paddedTailSize: number;
  readonly k: number;
  readonly n: number;
}

export interface UebHashes {
  readonly crypttextHash: Uint8Array;
  readonly crypttextRootHash: Uint8Array;
  readonly shareRootHash: Uint8Array;
}

export function uebFor(shape: UebShape, hashes: UebHashes): Ueb {
  return {
    codecName: "crs",
    codecParams: `${shape.segmentSize}-${shape.k}-${shape.n}`,
    tailCodecParams: `${shape.paddedTailSize}-${shape.k}-${shape.n}`,
    size: shape.size,
    segmentSize: shape.segmentSize,
    numSegments: shape.numSegments,
    neededShares: shape.k,
    totalShares: shape.n,
    ...hashes,
  };
}

/** Serialises: keys sorted by byte value, each `key:netstring(value)`, no separator or trailer. */
export function encodeUeb(ueb: Ueb): Buffer {
  const fields: [string, string | Uint8Array][] = [
    ["codec_name", ueb.codecName],
    ["codec_params", ueb.codecParams],
    ["crypttext_hash", ueb.crypttextHash],
    ["crypttext_root_hash", ueb.crypttextRootHash],
    ["needed_shares", String(ueb.neededShares)],
    ["num_segments", String(ueb.numSegments)],
    ["segment_size", String(ueb.segmentSize)],
    ["share_root_hash", ueb.shareRootHash],
    ["size", String(ueb.size)],
    ["tail_codec_params", ueb.tailCodecParams],
    ["total_shares", String(ueb.totalShares)],
  ];
  const parts: Buffer[] = [];
  for (const [key, value] of fields) {
    const bytes = typeof value === "string" ? Buffer.from(value, "ascii") : value;
    parts.push(
      Buffer.from(`${key}:${bytes.length}:`, "ascii"),
      Buffer.from(bytes),
      Buffer.from(",", "ascii"),
    );
  }
  return Buffer.concat(parts);
}

const DUMMY = new Uint8Array(32);

/** The UEB length of a file, known before any hash is: the hashes have a fixed size. */
export function uebLengthFor(shape: UebShape): number {
  return encodeUeb(uebFor(shape, { crypttextHash: DUMMY, crypttextRootHash: DUMMY, shareRootHash: DUMMY }))
    .length;
}

export function uebHash(uebBytes: Uint8Array): Buffer {
  return taggedHash(UEB_TAG, uebBytes);
}

/**
 * Splits a UEB into its raw fields, as Tahoe's unpack_extension does, or returns a reason it
 * cannot. Unknown keys (old files carry `plaintext_hash`) are kept and ignored by callers.
 */
export function splitUeb(bytes: Uint8Array): Map<string, Buffer> | string {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Map<string, Buffer>();
  let at = 0;
  while (at < data.length) {
    const colon = data.indexOf(0x3a, at);
    if (colon === -1) return `no ':' after a key at byte ${at}`;
    const key = data.toString("latin1", at, colon);
    const colon2 = data.indexOf(0x3a, colon + 1);
    if (colon2 === -1) return `no length for key ${JSON.stringify(key)}`;
    const lengthText = data.toString("latin1", colon + 1, colon2);
    if (!/^\d{1,15}$/.test(lengthText))
      return `bad length ${JSON.stringify(lengthText)} for key ${JSON.stringify(key)}`;
    const end = colon2 + 1 + Number(lengthText);
    if (end >= data.length || data[end] !== 0x2c)
      return `value of key ${JSON.stringify(key)} is not followed by ','`;
    out.set(key, data.subarray(colon2 + 1, end));
    at = end + 1;
  }
  return out;
}

/** Parses a UEB into its fields, or returns a reason (a missing key, a bad number). */
export function parseUeb(bytes: Uint8Array): Ueb | string {
  const fields = splitUeb(bytes);
  if (typeof fields === "string") return fields;
  const text = (key: string): string | undefined => fields.get(key)?.toString("latin1");
  const int = (key: string): number | string => {
    const t = text(key);
    if (t === undefined) return `missing key ${key}`;
    if (!/^\d{1,16}$/.test(t) || !Number.isSafeInteger(Number(t)))
      return `key ${key} is not a number: ${JSON.stringify(t)}`;
    return Number(t);
  };
  const hash = (key: string): Uint8Array | string => {
    const v = fields.get(key);
    if (v === undefined) return `missing key ${key}`;
    return v.length === 32 ? v : `key ${key} is ${v.length} bytes, not 32`;
  };
  const values = {
    size: int("size"),
    segmentSize: int("segment_size"),
    numSegments: int("num_segments"),
    neededShares: int("needed_shares"),
    totalShares: int("total_shares"),
    crypttextHash: hash("crypttext_hash"),
    crypttextRootHash: hash("crypttext_root_hash"),
    shareRootHash: hash("share_root_hash"),
  };
  for (const v of Object.values(values)) if (typeof v === "string") return v;
  const codecName = text("codec_name");
  if (codecName !== "crs") return `codec_name is ${JSON.stringify(codecName)}, not "crs"`;
  return {
    codecName,
    codecParams: text("codec_params") ?? "",
    tailCodecParams: text("tail_codec_params") ?? "",
    ...(values as {
      size: number;
      segmentSize: number;
      numSegments: number;
      neededShares: number;
      totalShares: number;
      crypttextHash: Uint8Array;
      crypttextRootHash: Uint8Array;
      shareRootHash: Uint8Array;
    }),
  };
}
