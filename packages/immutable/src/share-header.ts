import type { ChkPlan, ShareLayout } from "./plan.js";

/** The fields of a share header (spec §2.10), v1 or v2. */
export interface ShareHeader extends ShareLayout {
  readonly blockSize: number;
  readonly shareDataSize: number;
}

export function headerOf(plan: ChkPlan): ShareHeader {
  return { ...plan.layout, blockSize: plan.blockSize, shareDataSize: plan.shareDataSize };
}

function fieldsOf(h: ShareHeader): number[] {
  return [
    h.blockSize,
    h.shareDataSize,
    h.data,
    h.plaintextHashTree,
    h.crypttextHashTree,
    h.blockHashTree,
    h.shareHashChain,
    h.uebLength,
  ];
}

export function encodeShareHeader(h: ShareHeader): Buffer {
  const out = Buffer.alloc(h.headerSize);
  out.writeUInt32BE(h.version, 0);
  fieldsOf(h).forEach((value, i) => {
    if (h.version === 1) out.writeUInt32BE(value, 4 + 4 * i);
    else out.writeBigUInt64BE(BigInt(value), 4 + 8 * i);
  });
  return out;
}

/** Parses the first 0x44 bytes of a share, or returns why it cannot. */
export function decodeShareHeader(bytes: Uint8Array): ShareHeader | string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 4) return `the share is ${b.length} bytes long, too short for a header`;
  const version = b.readUInt32BE(0);
  if (version !== 1 && version !== 2) return `share version is ${version}, not 1 or 2`;
  const headerSize = version === 1 ? 0x24 : 0x44;
  if (b.length < headerSize) return `the share is ${b.length} bytes long, too short for a v${version} header`;
  const f: number[] = [];
  for (let i = 0; i < 8; i++) {
    if (version === 1) f.push(b.readUInt32BE(4 + 4 * i));
    else {
      const v = b.readBigUInt64BE(4 + 8 * i);
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) return `header field ${i + 1} is too large (${v})`;
      f.push(Number(v));
    }
  }
  const [
    blockSize,
    shareDataSize,
    data,
    plaintextHashTree,
    crypttextHashTree,
    blockHashTree,
    shareHashChain,
    uebLength,
  ] = f as [number, number, number, number, number, number, number, number];
  return {
    version,
    headerSize,
    blockSize,
    shareDataSize,
    data,
    plaintextHashTree,
    crypttextHashTree,
    blockHashTree,
    shareHashChain,
    uebLength,
  };
}

/** The first header field that differs from what the plan expects, or undefined. */
export function headerMismatch(found: ShareHeader, expected: ShareHeader): string | undefined {
  for (const key of Object.keys(expected) as (keyof ShareHeader)[]) {
    if (found[key] !== expected[key])
      return `header field ${key} is ${found[key]}, expected ${expected[key]}`;
  }
  return undefined;
}
