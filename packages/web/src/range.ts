/** A byte range of a file, end exclusive. */
export interface ByteSpan {
  start: number;
  end: number;
}

export type RangeRequest = { kind: "whole" } | { kind: "span"; span: ByteSpan } | { kind: "unsatisfiable" };

const SINGLE = /^bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i;

/**
 * Reads a `Range` header for a file of `size` bytes. Only one range is served: a header that
 * does not parse, or asks for several ranges, is ignored as RFC 9110 allows, and the whole file
 * is sent.
 */
export function parseRangeHeader(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: "whole" };
  const m = SINGLE.exec(header);
  if (!m) return { kind: "whole" };
  const [, first, last] = m as unknown as [string, string, string];
  if (first === "" && last === "") return { kind: "whole" };
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "span", span: { start: Math.max(0, size - suffix), end: size } };
  }
  const start = Number(first);
  if (last !== "" && Number(last) < start) return { kind: "whole" };
  if (start >= size) return { kind: "unsatisfiable" };
  const end = last === "" ? size : Math.min(size, Number(last) + 1);
  return { kind: "span", span: { start, end } };
}
