import { isIPv4, isIPv6 } from "node:net";

/** The 4 or 16 bytes of an address literal; undefined for a name. */
export function addressBytes(host: string): Buffer | undefined {
  const h = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (isIPv4(h)) return Buffer.from(h.split(".").map(Number));
  if (!isIPv6(h)) return undefined;
  const [head = "", tail] = h.split("::");
  const groups = (s: string): number[] =>
    s === ""
      ? []
      : s.split(":").flatMap((g) => {
          if (!g.includes(".")) return [Number.parseInt(g, 16)];
          const v4 = g.split(".").map(Number);
          return [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
        });
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => {
    out.writeUInt16BE(g, i * 2);
  });
  return out;
}

export function bytesToBigInt(bytes: Buffer): bigint {
  return bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
}
