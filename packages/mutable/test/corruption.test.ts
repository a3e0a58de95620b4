import { describe, expect, it } from "vitest";
import {
  CorruptMutableShareError,
  decodeMutableVersion,
  isCorruptMutableShareError,
  MutableError,
  parseMutableCap,
  parseMutableHeader,
  verifyMutableShare,
  verifyShareHashes,
  verifyShareSignature,
} from "../src/index.js";
import { b64, loadMutableCases } from "./vectors.js";

const cases = loadMutableCases();
const sdmf = cases.find((c) => c.name === "sdmf-3of10-1000B")!;
const mdmf = cases.find((c) => c.name === "mdmf-2of3-3seg")!;

function sharesOf(c: (typeof cases)[number], step = 0): Map<number, Buffer> {
  return new Map(
    Object.entries(c.steps[step]!.shares_b64).map(([shnum, data]) => [Number(shnum), b64(data)]),
  );
}

function failure(bytes: Uint8Array, shnum: number, fingerprint: Uint8Array): CorruptMutableShareError {
  try {
    verifyMutableShare(bytes, shnum, fingerprint);
  } catch (error) {
    expect(isCorruptMutableShareError(error), String(error)).toBe(true);
    return error as CorruptMutableShareError;
  }
  throw new Error(`share ${shnum} passed`);
}

function flipped(bytes: Uint8Array, at: number): Buffer {
  const out = Buffer.from(bytes);
  out[at]! ^= 0x01;
  return out;
}

describe("corrupt mutable shares", () => {
  for (const c of [sdmf, mdmf]) {
    const cap = parseMutableCap(c.caps.write);
    const share = sharesOf(c).get(1)!;
    const o = parseMutableHeader(share, 1).offsets;
    const regions: [
      string,
      number,
      CorruptMutableShareError["code"] | CorruptMutableShareError["code"][],
      RegExp,
    ][] = [
      ["seqnum", 8, "TAHOE_ERR_MUTABLE_SHARE_SIGNATURE", /signature .* does not verify/],
      ["root hash", 20, "TAHOE_ERR_MUTABLE_SHARE_SIGNATURE", /does not verify/],
      ["data length", c.format === "SDMF" ? 74 : 58, "TAHOE_ERR_MUTABLE_SHARE_SIGNATURE", /does not verify/],
      ["verification key", o.verificationKey + 100, "TAHOE_ERR_MUTABLE_SHARE_PUBKEY", /fingerprint/],
      ["signature", o.signature + 10, "TAHOE_ERR_MUTABLE_SHARE_SIGNATURE", /does not verify/],
      ["share hash chain hash", o.shareHashChain + 5, "TAHOE_ERR_MUTABLE_SHARE_HASH", /signed root hash/],
      ["share hash chain index", o.shareHashChain + 1, "TAHOE_ERR_MUTABLE_SHARE_HASH", /needs \[/],
      [
        "block hash tree root",
        o.blockHashTree + 3,
        // SDMF's tree is its one leaf: a changed root no longer leads to the signed root hash.
        c.format === "SDMF" ? "TAHOE_ERR_MUTABLE_SHARE_HASH" : "TAHOE_ERR_MUTABLE_BLOCK_HASH",
        c.format === "SDMF" ? /signed root hash/ : /node 0 of the block hash tree/,
      ],
      [
        "first block",
        o.shareData + (c.format === "MDMF" ? 20 : 3),
        "TAHOE_ERR_MUTABLE_BLOCK_HASH",
        /segment 0/,
      ],
      [
        "signature offset",
        c.format === "SDMF" ? 78 : 82,
        ["TAHOE_ERR_MUTABLE_SHARE_LAYOUT", "TAHOE_ERR_MUTABLE_SHARE_PUBKEY"],
        /signature is 255 bytes|fingerprint/,
      ],
      ["version byte", 0, "TAHOE_ERR_MUTABLE_SHARE_LAYOUT", /./],
    ];
    if (c.format === "MDMF") {
      regions.push([
        "salt of segment 1",
        o.shareData + 65536 + 16 + 2,
        "TAHOE_ERR_MUTABLE_BLOCK_HASH",
        /segment 1/,
      ]);
      regions.push(["tail block", o.blockHashTree - 1, "TAHOE_ERR_MUTABLE_BLOCK_HASH", /segment 2/]);
    }
    for (const [what, at, code, why] of regions) {
      it(`${c.name}: a changed ${what} byte is refused (${code}), naming share 1`, () => {
        const bent = flipped(share, at);
        // A flipped low bit of a chain index names a node the chain already holds; name a far one.
        if (what === "share hash chain index") bent[at] = 0x20;
        const error = failure(bent, 1, cap.fingerprint);
        expect(Array.isArray(code) ? code : [code]).toContain(error.code);
        expect(error.shareNumber).toBe(1);
        expect(error.message).toMatch(/^mutable share 1: /);
        expect(error.message).toMatch(why);
        expect(error.hint).toBeTruthy();
      });
    }

    it(`${c.name}: a truncated share is refused with TAHOE_ERR_MUTABLE_SHARE_LAYOUT at every length`, () => {
      for (const length of [0, 1, 50, 106, 122, 400, 700, o.eof - 1]) {
        const error = failure(share.subarray(0, length), 1, cap.fingerprint);
        expect(error.code, `length ${length}`).toBe("TAHOE_ERR_MUTABLE_SHARE_LAYOUT");
      }
    });

    it(`${c.name}: a share of another file is refused by its fingerprint`, () => {
      const other = parseMutableCap(
        cases[0]!.caps.write === c.caps.write ? cases[1]!.caps.write : cases[0]!.caps.write,
      );
      expect(failure(share, 1, other.fingerprint).code).toBe("TAHOE_ERR_MUTABLE_SHARE_PUBKEY");
    });

    it(`${c.name}: a share under the wrong number is refused`, () => {
      expect(failure(share, 0, cap.fingerprint).code).toBe("TAHOE_ERR_MUTABLE_SHARE_HASH");
      expect(failure(share, c.n, cap.fingerprint).message).toMatch(/not below N=/);
    });

    it(`${c.name}: bytes past EOF (a longer old version's tail) are ignored`, () => {
      const stale = Buffer.concat([share, Buffer.alloc(777, 0xab)]);
      expect(verifyMutableShare(stale, 1, cap.fingerprint).header.seqnum).toBe(1);
    });

    it(`${c.name}: random damage either fails as a corrupt share or is in unused bytes; never another error`, () => {
      let seed = 12345;
      const random = (n: number) => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      for (let i = 0; i < 150; i++) {
        const bent = Buffer.from(share);
        const at = random(Math.min(bent.length, 4000));
        bent[at] = random(256);
        try {
          verifyMutableShare(bent, 1, cap.fingerprint);
          // Undetected changes are only the unwritten MDMF gap, the unchecked encprivkey, or no-ops.
          const unchanged = bent[at] === share[at];
          const unchecked =
            (at >= o.verificationKeyEnd && at < o.shareData) ||
            (at >= o.encPrivkey && at < o.encPrivkey + 1218 && at < o.shareHashChain) ||
            (c.format === "SDMF" && at >= o.encPrivkey);
          expect(unchanged || unchecked, `byte ${at}`).toBe(true);
        } catch (error) {
          expect(error, `byte ${at}`).toBeInstanceOf(CorruptMutableShareError);
        }
      }
    });
  }

  it("verifyShareSignature checks a servermap's first read (4000 bytes) of an MDMF share", () => {
    const cap = parseMutableCap(mdmf.caps.write);
    const head = verifyShareSignature(sharesOf(mdmf).get(2)!.subarray(0, 4000), 2, cap.fingerprint);
    expect(head.header.seqnum).toBe(1);
    expect(head.header.format).toBe("MDMF");
  });
});

describe("decoding around bad shares", () => {
  const cap = parseMutableCap(sdmf.caps.read);
  const good = sharesOf(sdmf);
  const plaintext = b64(sdmf.steps[0]!.plaintext_b64!);

  it("decodes from the good shares and lists each bad one", () => {
    const shares = new Map(good);
    for (const shnum of [0, 4, 9]) shares.set(shnum, flipped(good.get(shnum)!, 900));
    shares.set(5, good.get(5)!.subarray(0, 300));
    const read = decodeMutableVersion(cap, shares);
    expect(Buffer.from(read.plaintext).equals(plaintext)).toBe(true);
    expect(read.corrupt.map((e) => e.shareNumber).sort()).toEqual([0, 4, 5, 9]);
    expect(read.sharesUsed).not.toContain(0);
  });

  it("decodes from check shares only", () => {
    const shares = new Map([7, 8, 9].map((shnum) => [shnum, good.get(shnum)!]));
    expect(Buffer.from(decodeMutableVersion(cap, shares).plaintext).equals(plaintext)).toBe(true);
  });

  it("refuses with TAHOE_ERR_MUTABLE_NOT_ENOUGH_SHARES when fewer than k are good, saying why", () => {
    const shares = new Map([
      [1, good.get(1)!],
      [2, flipped(good.get(2)!, 30)],
      [3, good.get(3)!],
    ]);
    let caught: unknown;
    try {
      decodeMutableVersion(cap, shares);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MutableError);
    expect((caught as MutableError).code).toBe("TAHOE_ERR_MUTABLE_NOT_ENOUGH_SHARES");
    expect((caught as MutableError).message).toContain("seqnum 1: 2 of k=3");
    expect((caught as MutableError).message).toContain("mutable share 2: ");
    expect(() => decodeMutableVersion(cap, new Map())).toThrow(/no shares given/);
  });

  it("picks the newest recoverable version among mixed seqnums", () => {
    const c = cases.find((x) => x.name === "sdmf-2of3-seq3")!;
    const read = parseMutableCap(c.caps.read);
    const v1 = sharesOf(c, 0);
    const v2 = sharesOf(c, 1);
    const v3 = sharesOf(c, 2);
    const mixed = [
      [0, v3.get(0)!],
      [1, v2.get(1)!],
      [2, v2.get(2)!],
    ] as const;
    expect(decodeMutableVersion(read, mixed).header.seqnum).toBe(2);
    const newest = [
      [0, v3.get(0)!],
      [1, v3.get(1)!],
      [2, v1.get(2)!],
    ] as const;
    const decoded = decodeMutableVersion(read, newest);
    expect(decoded.header.seqnum).toBe(3);
    expect(Buffer.from(decoded.plaintext).toString("base64")).toBe(c.steps[2]!.plaintext_b64);
  });

  it("refuses a verify cap for decoding, and shares of the other format", () => {
    expect(() => decodeMutableVersion(parseMutableCap(sdmf.caps.verify), good)).toThrow(/verify cap/);
    const asMdmf = parseMutableCap(sdmf.caps.read.replace("URI:SSK-RO:", "URI:MDMF-RO:"));
    expect(() => decodeMutableVersion(asMdmf, good)).toThrow(/a SDMF share, but the cap is MDMF/);
  });
});

describe("absurd headers cost nothing", () => {
  it("a header claiming 2^50 bytes in 4-byte segments is refused without walking segments", () => {
    const share = Buffer.from(sharesOf(mdmf).get(0)!);
    share.writeBigUInt64BE(4n, 43); // segment size
    share.writeBigUInt64BE(2n ** 50n, 51); // data length
    const header = parseMutableHeader(share, 0);
    expect(header.dataLength).toBe(2 ** 50);
    let caught: unknown;
    try {
      verifyShareHashes(header, 0, new Uint8Array(68), new Uint8Array(224));
    } catch (error) {
      caught = error;
    }
    expect((caught as CorruptMutableShareError).code).toBe("TAHOE_ERR_MUTABLE_SHARE_LAYOUT");
    expect((caught as CorruptMutableShareError).message).toMatch(/share data is \d+ bytes; \d+ segment\(s\)/);
    expect(failure(share, 0, parseMutableCap(mdmf.caps.write).fingerprint).code).toBe(
      "TAHOE_ERR_MUTABLE_SHARE_SIGNATURE",
    );
  });
});
