import { type FileHandle, open, rm } from "node:fs/promises";
import { corruptContainer } from "./container-errors.js";
import type { Lease } from "./leases.js";

// Tahoe-LAFS's immutable share file (storage/immutable.py): a 12-byte header
// (u32 version, u32 min(2^32-1, allocated size), u32 lease count), the share bytes, then
// the leases. Version 2 stores BLAKE2b-256 hashes of the lease secrets.
export const IMMUTABLE_HEADER_SIZE = 12;
export const IMMUTABLE_LEASE_SIZE = 72;
export const IMMUTABLE_CONTAINER_VERSION = 2;

export interface ImmutableContainer {
  version: 1 | 2;
  dataLength: number;
  leases: Lease[];
}

function encodeLease(lease: Lease): Buffer {
  const out = Buffer.alloc(IMMUTABLE_LEASE_SIZE);
  out.writeUInt32BE(lease.ownerNum, 0);
  out.set(lease.renewSecret, 4);
  out.set(lease.cancelSecret, 36);
  out.writeUInt32BE(lease.expiration, 68);
  return out;
}

function decodeLease(bytes: Buffer): Lease {
  return {
    ownerNum: bytes.readUInt32BE(0),
    renewSecret: Uint8Array.from(bytes.subarray(4, 36)),
    cancelSecret: Uint8Array.from(bytes.subarray(36, 68)),
    expiration: bytes.readUInt32BE(68),
  };
}

async function readExactly(fh: FileHandle, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buf, 0, length, position);
  return buf.subarray(0, bytesRead);
}

/**
 * Creates the container of an upload: header and first lease. The data area between
 * them is left as a hole that the PATCHes fill; `wx` refuses to clobber a file. Returns
 * the handle, open for the PATCHes to come.
 */
export async function createImmutableContainer(
  path: string,
  allocatedSize: number,
  lease: Lease,
): Promise<FileHandle> {
  const fh = await open(path, "wx+", 0o600);
  try {
    const header = Buffer.alloc(IMMUTABLE_HEADER_SIZE);
    header.writeUInt32BE(IMMUTABLE_CONTAINER_VERSION, 0);
    header.writeUInt32BE(Math.min(0xffffffff, allocatedSize), 4);
    header.writeUInt32BE(1, 8);
    await fh.write(header, 0, header.length, 0);
    await fh.write(encodeLease(lease), 0, IMMUTABLE_LEASE_SIZE, IMMUTABLE_HEADER_SIZE + allocatedSize);
    return fh;
  } catch (error) {
    await fh.close();
    // A disk that filled up half-way must not leave a container a retried allocation takes for someone else's.
    await rm(path, { force: true });
    throw error;
  }
}

/**
 * The version, lease count and data length of a container, from its header and size
 * alone: what a read needs, without decoding the leases.
 */
export async function readImmutableLayout(
  path: string,
  fh: FileHandle,
): Promise<{ version: 1 | 2; count: number; dataLength: number }> {
  const { size } = await fh.stat();
  const header = await readExactly(fh, IMMUTABLE_HEADER_SIZE, 0);
  return immutableLayout(path, header, size);
}

/** The layout of a container from its first 12 bytes and its size; a 500 when they do not add up. */
export function immutableLayout(
  path: string,
  header: Buffer,
  size: number,
): { version: 1 | 2; count: number; dataLength: number } {
  if (header.length < IMMUTABLE_HEADER_SIZE) throw corruptContainer(path, "shorter than the 12-byte header");
  const version = header.readUInt32BE(0);
  if (version !== 1 && version !== 2)
    throw corruptContainer(path, `unknown immutable container version ${version}`);
  const count = header.readUInt32BE(8);
  const leaseOffset = size - count * IMMUTABLE_LEASE_SIZE;
  if (leaseOffset < IMMUTABLE_HEADER_SIZE)
    throw corruptContainer(path, `${count} leases do not fit in ${size} bytes`);
  return { version, count, dataLength: leaseOffset - IMMUTABLE_HEADER_SIZE };
}

/** Reads the header and leases; the data length is what lies between them, as Tahoe computes it. */
export async function readImmutableContainer(path: string, fh: FileHandle): Promise<ImmutableContainer> {
  const { version, count, dataLength } = await readImmutableLayout(path, fh);
  const raw = await readExactly(fh, count * IMMUTABLE_LEASE_SIZE, IMMUTABLE_HEADER_SIZE + dataLength);
  const leases: Lease[] = [];
  for (let i = 0; i < count; i++) {
    leases.push(decodeLease(raw.subarray(i * IMMUTABLE_LEASE_SIZE, (i + 1) * IMMUTABLE_LEASE_SIZE)));
  }
  return { version, dataLength, leases };
}

/** Rewrites the lease list after the data, and the count in the header. */
export async function writeImmutableLeases(
  fh: FileHandle,
  dataLength: number,
  leases: Lease[],
): Promise<void> {
  const body = Buffer.concat(leases.map(encodeLease));
  const leaseOffset = IMMUTABLE_HEADER_SIZE + dataLength;
  await fh.write(body, 0, body.length, leaseOffset);
  await fh.truncate(leaseOffset + body.length);
  const count = Buffer.alloc(4);
  count.writeUInt32BE(leases.length, 0);
  await fh.write(count, 0, 4, 8);
}

/** True when the first bytes are an immutable container header (version 1 or 2). */
export function looksImmutable(head: Uint8Array): boolean {
  if (head.length < 4) return false;
  const version = Buffer.from(head.buffer, head.byteOffset, 4).readUInt32BE(0);
  return version === 1 || version === 2;
}
