import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { base32Decode, base32Encode, taggedHash } from "@lafs/crypto";
import type { Grid } from "../support/local-grid.js";

/**
 * What the fault tests share: the web API of the grid's client over plain HTTP, where the
 * shares of a cap lie on disk, and a log of what each fault cost in time.
 */

export async function putBytes(grid: Grid, bytes: Uint8Array): Promise<{ status: number; text: string }> {
  const res = await fetch(new URL("uri", grid.nodeUrl), { method: "PUT", body: bytes });
  return { status: res.status, text: (await res.text()).trim() };
}

export async function putOk(grid: Grid, bytes: Uint8Array): Promise<string> {
  const { status, text } = await putBytes(grid, bytes);
  if (status !== 200) throw new Error(`PUT /uri: ${status} ${text}`);
  return text;
}

export interface GetResult {
  status: number;
  body: Buffer;
}

/** GET /uri/CAP, reading the body to its end; `onBytes` sees the running count. */
export async function getBytes(
  grid: Grid,
  cap: string,
  onBytes?: (received: number) => void,
): Promise<GetResult> {
  const res = await fetch(new URL(`uri/${encodeURIComponent(cap)}`, grid.nodeUrl));
  const chunks: Buffer[] = [];
  let received = 0;
  if (res.body !== null) {
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(Buffer.from(value));
      received += value.length;
      onBytes?.(received);
    }
  }
  return { status: res.status, body: Buffer.concat(chunks) };
}

/** The storage index of a URI:CHK cap, in base32 (wire-formats: tagged hash of the key). */
export function storageIndexOf(cap: string): string {
  const key = base32Decode(cap.split(":")[2]!);
  return base32Encode(taggedHash("allmydata_immutable_key_to_storage_index_v1", key, 16));
}

export interface ShareFile {
  node: string;
  shnum: number;
  path: string;
}

/** Every complete share file of the cap, across the grid's storage nodes. */
export async function shareFiles(grid: Grid, cap: string): Promise<ShareFile[]> {
  const si = storageIndexOf(cap);
  const found: ShareFile[] = [];
  for (const node of grid.storage) {
    const dir = join(grid.dirs[node]!, "storage/shares", si.slice(0, 2), si);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const n of names) found.push({ node, shnum: Number(n), path: join(dir, n) });
  }
  return found.sort((a, b) => a.shnum - b.shnum);
}

/** Files under a storage node's shares/incoming (uploads in progress). */
export async function incomingFiles(grid: Grid, node: string): Promise<string[]> {
  const incoming = join(grid.dirs[node]!, "storage/shares/incoming");
  const entries = await readdir(incoming, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** Waits until some storage node is receiving an upload, and names it. */
export async function firstReceiving(grid: Grid, ms = 20_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    for (const node of grid.storage) if ((await incomingFiles(grid, node)).length > 0) return node;
    if (Date.now() > deadline) throw new Error(`no upload reached a storage node within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await run();
  return { value, ms: Math.round(performance.now() - started) };
}

/** One line per fault in the test output: what it cost against the same transfer without it. */
export function report(what: string, figures: Record<string, number | string>): void {
  const text = Object.entries(figures)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  console.log(`[fault] ${what}: ${text}`);
}

/** Deterministic bytes that do not repeat (so a wrong block can never look right). */
export function patternBytes(size: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, i);
  }
  for (; i < size; i++) out[i] = i & 0xff;
  return out;
}
