/** A netstring's body and where the next one starts, or why it cannot be read. */
export type NetstringRead = { ok: true; body: Uint8Array; next: number } | { ok: false; why: string };

const COLON = 0x3a;
const COMMA = 0x2c;
/** Longest length prefix accepted: more digits than any directory can need. */
const MAX_LENGTH_DIGITS = 12;

/** Reads one netstring at `offset` (Tahoe's netstring.split_netstring, one item at a time). */
export function readNetstring(data: Uint8Array, offset: number): NetstringRead {
  let i = offset;
  while (i < data.length && data[i] !== COLON) {
    const c = data[i]!;
    if (c < 0x30 || c > 0x39)
      return { ok: false, why: `a netstring length has a non-digit byte at offset ${i}` };
    if (i - offset >= MAX_LENGTH_DIGITS)
      return { ok: false, why: `a netstring length at offset ${offset} is too long` };
    i++;
  }
  if (i === offset) return { ok: false, why: `no netstring length at offset ${offset}` };
  if (i >= data.length) return { ok: false, why: `the netstring at offset ${offset} is truncated (no ':')` };
  const length = Number(Buffer.from(data.subarray(offset, i)).toString("ascii"));
  const start = i + 1;
  const end = start + length;
  if (end + 1 > data.length) {
    return {
      ok: false,
      why: `the netstring at offset ${offset} says ${length} bytes but only ${Math.max(0, data.length - start)} remain`,
    };
  }
  if (data[end] !== COMMA)
    return { ok: false, why: `the netstring at offset ${offset} does not end with ','` };
  return { ok: true, body: data.subarray(start, end), next: end + 1 };
}

/** Exactly `count` netstrings filling `data` (split_netstring(data, count, required_trailer=b"")). */
export function splitNetstrings(
  data: Uint8Array,
  count: number,
): { ok: true; parts: Uint8Array[] } | { ok: false; why: string } {
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const r = readNetstring(data, offset);
    if (!r.ok) return r;
    parts.push(r.body);
    offset = r.next;
  }
  if (offset !== data.length)
    return { ok: false, why: `${data.length - offset} bytes follow the ${count} fields` };
  return { ok: true, parts };
}
