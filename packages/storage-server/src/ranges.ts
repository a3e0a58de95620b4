import { badRange } from "./errors.js";

/** An inclusive byte range, as HTTP writes it. */
export interface ByteRange {
  first: number;
  last: number;
}

const DIGITS = /^(0|[1-9][0-9]{0,15})$/;

function position(text: string, header: string, value: string): number {
  const n = DIGITS.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw badRange(`${header} '${value}': '${text}' is not a byte position`);
  return n;
}

/**
 * `Content-Range: bytes FIRST-LAST/TOTAL` or `.../*` on a PATCH. The total is ignored,
 * as Tahoe does; `bytes *\/N` (which crashes Tahoe) and other units are refused.
 */
export function parseContentRange(value: string | undefined): ByteRange {
  if (value === undefined) throw badRange("PATCH without a Content-Range header");
  const m = /^bytes ([0-9]+)-([0-9]+)\/([0-9]+|\*)$/.exec(value.trim());
  if (!m) throw badRange(`Content-Range '${value}' is not 'bytes FIRST-LAST/*'`);
  const first = position(m[1]!, "Content-Range", value);
  const last = position(m[2]!, "Content-Range", value);
  if (last < first) throw badRange(`Content-Range '${value}' ends before it starts`);
  return { first, last };
}

/** `Range: bytes=FIRST-LAST`, one range with an explicit end, as Tahoe accepts. */
export function parseRange(value: string): ByteRange {
  const m = /^bytes=([0-9]+)-([0-9]+)$/.exec(value.trim());
  if (!m) throw badRange(`Range '${value}' is not a single 'bytes=FIRST-LAST'`);
  const first = position(m[1]!, "Range", value);
  const last = position(m[2]!, "Range", value);
  if (last < first) throw badRange(`Range '${value}' ends before it starts`);
  return { first, last };
}

/** Half-open [begin, end) intervals, sorted and merged: the written parts of an upload. */
export class IntervalSet {
  private spans: [number, number][] = [];

  add(begin: number, end: number): void {
    if (end <= begin) return;
    // Uploads mostly write in order: extending the last span needs no rebuild.
    const tail = this.spans[this.spans.length - 1];
    if (tail !== undefined && begin >= tail[0] && begin <= tail[1]) {
      tail[1] = Math.max(tail[1], end);
      return;
    }
    const out: [number, number][] = [];
    let b = begin;
    let e = end;
    for (const [sb, se] of this.spans) {
      if (se < b || sb > e) out.push([sb, se]);
      else {
        b = Math.min(b, sb);
        e = Math.max(e, se);
      }
    }
    out.push([b, e]);
    out.sort((x, y) => x[0] - y[0]);
    this.spans = out;
  }

  /** The parts of [begin, end) already in the set. */
  overlaps(begin: number, end: number): [number, number][] {
    const out: [number, number][] = [];
    for (const [sb, se] of this.spans) {
      const b = Math.max(sb, begin);
      const e = Math.min(se, end);
      if (b < e) out.push([b, e]);
    }
    return out;
  }

  /** The parts of [0, total) not in the set. */
  missing(total: number): { begin: number; end: number }[] {
    const out: { begin: number; end: number }[] = [];
    let at = 0;
    for (const [sb, se] of this.spans) {
      if (sb > at) out.push({ begin: at, end: Math.min(sb, total) });
      at = Math.max(at, se);
      if (at >= total) break;
    }
    if (at < total) out.push({ begin: at, end: total });
    return out;
  }
}
