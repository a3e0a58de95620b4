import { type FileHandle, open } from "node:fs/promises";
import { taggedHash } from "@lafs/crypto";
import { corruptContainer } from "./container-errors.js";
import type { Lease } from "./leases.js";

// Tahoe-LAFS's mutable share file (storage/mutable.py): 32-byte magic, 20-byte write
// enabler node id, 32-byte write enabler, u64 data length, u64 extra-lease offset, four
// 92-byte lease slots, the data from byte 468, then u32 extra-lease count and those leases.
const MAGIC_PREFIX = "Tahoe mutable container v";
export const MUTABLE_MAGIC_V1 = Buffer.concat([
  Buffer.from("Tahoe mutable container v1\n"),
  Buffer.from([0x75, 0x09, 0x44, 0x03, 0x8e]),
]);
export const MUTABLE_MAGIC_V2 = Buffer.concat([
  Buffer.from("Tahoe mutable container v2\n"),
  taggedHash("allmydata_mutable_container_header", "Tahoe mutable container v2\n").subarray(0, 5),
]);
const HEADER_SIZE = 100;
const LEASE_SIZE = 92;
const SLOTS = 4;
export const MUTABLE_DATA_OFFSET = HEADER_SIZE + SLOTS * LEASE_SIZE;

export interface MutableContainer {
  version: 1 | 2;
  nodeId: Uint8Array;
  writeEnabler: Uint8Array;
  dataLength: number;
  leases: Lease[];
}

function encodeLease(lease: Lease | undefined): Buffer {
  const out = Buffer.alloc(LEASE_SIZE);
  if (!lease) return out;
  out.writeUInt32BE(lease.ownerNum, 0);
  out.writeUInt32BE(lease.expiration, 4);
  out.set(lease.renewSecret, 8);
  out.set(lease.cancelSecret, 40);
  if (lease.nodeId) out.set(lease.nodeId, 72);
  return out;
}

function decodeLease(bytes: Buffer): Lease | undefined {
  if (bytes.every((b) => b === 0)) return undefined;
  return {
    ownerNum: bytes.readUInt32BE(0),
    expiration: bytes.readUInt32BE(4),
    renewSecret: Uint8Array.from(bytes.subarray(8, 40)),
    cancelSecret: Uint8Array.from(bytes.subarray(40, 72)),
    nodeId: Uint8Array.from(bytes.subarray(72, 92)),
  };
}

async function readAt(fh: FileHandle, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buf, 0, length, position);
  return buf.subarray(0, bytesRead);
}

export function looksMutable(head: Uint8Array): boolean {
  return Buffer.from(head.buffer, head.byteOffset, Math.min(head.length, MAGIC_PREFIX.length)).equals(
    Buffer.from(MAGIC_PREFIX),
  );
}

export async function createMutableContainer(
  path: string,
  nodeId: Uint8Array,
  writeEnabler: Uint8Array,
): Promise<void> {
  const fh = await open(path, "wx", 0o600);
  try {
    const header = Buffer.alloc(MUTABLE_DATA_OFFSET + 4);
    MUTABLE_MAGIC_V2.copy(header, 0);
    header.set(nodeId.subarray(0, 20), 32);
    header.set(writeEnabler.subarray(0, 32), 52);
    header.writeBigUInt64BE(0n, 84);
    header.writeBigUInt64BE(BigInt(MUTABLE_DATA_OFFSET), 92);
    await fh.write(header, 0, header.length, 0);
  } finally {
    await fh.close();
  }
}

export async function readMutableContainer(path: string, fh: FileHandle): Promise<MutableContainer> {
  const head = await readAt(fh, MUTABLE_DATA_OFFSET, 0);
  if (head.length < MUTABLE_DATA_OFFSET) throw corruptContainer(path, "shorter than the mutable header");
  const magic = head.subarray(0, 32);
  const version = magic.equals(MUTABLE_MAGIC_V2) ? 2 : magic.equals(MUTABLE_MAGIC_V1) ? 1 : undefined;
  if (version === undefined) throw corruptContainer(path, "bad mutable container magic");
  const dataLength = Number(head.readBigUInt64BE(84));
  const extraOffset = Number(head.readBigUInt64BE(92));
  if (!Number.isSafeInteger(dataLength) || extraOffset !== MUTABLE_DATA_OFFSET + dataLength) {
    throw corruptContainer(path, `data length ${dataLength} and extra-lease offset ${extraOffset} disagree`);
  }
  const leases: Lease[] = [];
  for (let i = 0; i < SLOTS; i++) {
    const lease = decodeLease(
      head.subarray(HEADER_SIZE + i * LEASE_SIZE, HEADER_SIZE + (i + 1) * LEASE_SIZE),
    );
    if (lease) leases.push(lease);
  }
  const countBytes = await readAt(fh, 4, extraOffset);
  const extraCount = countBytes.length === 4 ? countBytes.readUInt32BE(0) : 0;
  if (extraCount > 0) {
    // A damaged count must not make us allocate gigabytes: the leases have to fit in the file.
    const { size } = await fh.stat();
    if (extraCount * LEASE_SIZE > size - extraOffset - 4) {
      throw corruptContainer(path, `${extraCount} extra leases do not fit in ${size} bytes`);
    }
    const extra = await readAt(fh, extraCount * LEASE_SIZE, extraOffset + 4);
    if (extra.length !== extraCount * LEASE_SIZE) throw corruptContainer(path, "extra leases are cut short");
    for (let i = 0; i < extraCount; i++) {
      const lease = decodeLease(extra.subarray(i * LEASE_SIZE, (i + 1) * LEASE_SIZE));
      if (lease) leases.push(lease);
    }
  }
  return {
    version,
    nodeId: Uint8Array.from(head.subarray(32, 52)),
    writeEnabler: Uint8Array.from(head.subarray(52, 84)),
    dataLength,
    leases,
  };
}

/** Reads `size` bytes at `offset` of the share data, cut at the data's end. */
export async function readMutableData(
  fh: FileHandle,
  dataLength: number,
  offset: number,
  size: number,
): Promise<Buffer> {
  const length = Math.max(0, Math.min(size, dataLength - offset));
  if (length === 0) return Buffer.alloc(0);
  return readAt(fh, length, MUTABLE_DATA_OFFSET + offset);
}

async function writeTail(fh: FileHandle, dataLength: number, leases: Lease[]): Promise<void> {
  const slots = Buffer.concat(Array.from({ length: SLOTS }, (_, i) => encodeLease(leases[i])));
  await fh.write(slots, 0, slots.length, HEADER_SIZE);
  const extra = leases.slice(SLOTS);
  const tail = Buffer.alloc(4 + extra.length * LEASE_SIZE);
  tail.writeUInt32BE(extra.length, 0);
  for (const [i, l] of extra.entries()) encodeLease(l).copy(tail, 4 + i * LEASE_SIZE);
  const extraOffset = MUTABLE_DATA_OFFSET + dataLength;
  await fh.write(tail, 0, tail.length, extraOffset);
  await fh.truncate(extraOffset + tail.length);
  const lengths = Buffer.alloc(16);
  lengths.writeBigUInt64BE(BigInt(dataLength), 0);
  lengths.writeBigUInt64BE(BigInt(extraOffset), 8);
  await fh.write(lengths, 0, 16, 84);
}

/**
 * Applies writes in order (holes read as zeros), then truncates to `newLength` if that
 * is shorter; never grows past the writes. The extra leases move to the new data end.
 */
export async function writeMutableData(
  fh: FileHandle,
  container: MutableContainer,
  writes: { offset: number; data: Uint8Array }[],
  newLength: number | null,
): Promise<number> {
  let length = container.dataLength;
  const grownTo = writes.reduce((end, w) => Math.max(end, w.offset + w.data.length), length);
  if (grownTo > length) {
    // Cutting the file at the old data end and extending it zeroes the gap, including
    // whatever the old extra-lease area held.
    await fh.truncate(MUTABLE_DATA_OFFSET + length);
    await fh.truncate(MUTABLE_DATA_OFFSET + grownTo);
    length = grownTo;
  }
  for (const w of writes) {
    if (w.data.length > 0) await fh.write(w.data, 0, w.data.length, MUTABLE_DATA_OFFSET + w.offset);
  }
  if (newLength !== null && newLength < length) length = newLength;
  await writeTail(fh, length, container.leases);
  container.dataLength = length;
  return length;
}

export async function writeMutableLeases(fh: FileHandle, container: MutableContainer): Promise<void> {
  await writeTail(fh, container.dataLength, container.leases);
}
