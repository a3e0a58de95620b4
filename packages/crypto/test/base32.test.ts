import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { base32Decode, base32Encode, base32Length, CryptoError, isBase32 } from "../src/index.js";

const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

/** An independent encoder: bytes -> a string of bits -> 5-bit groups, zero-padded. */
function referenceEncode(bytes: Uint8Array): string {
  let bits = "";
  for (const b of bytes) bits += b.toString(2).padStart(8, "0");
  while (bits.length % 5) bits += "0";
  let out = "";
  for (let i = 0; i < bits.length; i += 5) out += ALPHABET[Number.parseInt(bits.slice(i, i + 5), 2)];
  return out;
}

function decodeError(text: string, what?: string): CryptoError {
  try {
    base32Decode(text, what);
  } catch (error) {
    expect(error).toBeInstanceOf(CryptoError);
    return error as CryptoError;
  }
  throw new Error(`decoding ${JSON.stringify(text)} did not throw`);
}

describe("base32", () => {
  it("encodes the RFC 4648 vectors in lower case without padding", () => {
    const cases: [string, string][] = [
      ["", ""],
      ["f", "my"],
      ["fo", "mzxq"],
      ["foo", "mzxw6"],
      ["foob", "mzxw6yq"],
      ["fooba", "mzxw6ytb"],
      ["foobar", "mzxw6ytboi"],
    ];
    for (const [plain, encoded] of cases) {
      expect(base32Encode(Buffer.from(plain))).toBe(encoded);
      expect(Buffer.from(base32Decode(encoded)).toString()).toBe(plain);
    }
  });

  it("matches the spec's worked values (§2.12)", () => {
    expect(base32Encode(Buffer.from("c66e2700c124ec49fbab9a5e186168db", "hex"))).toBe(
      "yzxcoagbetwet65ltjpbqyli3m",
    );
    expect(Buffer.from(base32Decode("i5nhq74zw2crkop634ra4hrvzm")).toString("hex")).toBe(
      "475a787f99b6851539fedf220e1e35cb",
    );
  });

  it("gives the spec's lengths: 16 -> 26, 20 -> 32, 32 -> 52", () => {
    expect([16, 20, 32].map(base32Length)).toEqual([26, 32, 52]);
    expect(base32Encode(new Uint8Array(32)).length).toBe(52);
  });

  it("names `what`, the character and its position", () => {
    const err = decodeError("abc!ef", "storage index");
    expect(err.code).toBe("TAHOE_ERR_CRYPTO_BASE32");
    expect(err.message).toBe('storage index: invalid base32 character "!" at position 4');
    expect(err.hint).toMatch(/a-z and 2-7/);
    expect(decodeError("mzxW6").message).toMatch(/"W" at position 4 \(Tahoe base32 is lower-case\)/);
    expect(decodeError("mzxq=").message).toMatch(/"=" at position 5/);
    expect(decodeError("my\n").message).toMatch(/"\\n" at position 3/);
    expect(decodeError("0").message).toMatch(/^base32 text: /);
  });

  it("rejects impossible lengths", () => {
    for (const text of ["a", "aaa", "aaaaaa", "aaaaaaaaa"]) {
      expect(decodeError(text, "cap").message).toBe(
        `cap: ${text.length} base32 characters cannot encode a whole number of bytes`,
      );
    }
  });

  it("rejects non-zero unused bits (a 16-byte value ends in one of aeimquy4)", () => {
    expect(decodeError("mz").message).toMatch(/the last base32 character "z" has non-zero unused bits/);
    const sixteen = base32Encode(new Uint8Array(16).fill(0xff));
    expect("aeimquy4").toContain(sixteen.at(-1));
    expect(() => base32Decode(`${sixteen.slice(0, -1)}5`)).toThrow(CryptoError);
    expect(() => base32Decode(`${sixteen.slice(0, -1)}4`)).not.toThrow();
  });

  it("isBase32 checks validity and, if asked, the byte length", () => {
    expect(isBase32("mzxw6ytboi")).toBe(true);
    expect(isBase32("mzxw6ytboi", 6)).toBe(true);
    expect(isBase32("mzxw6ytboi", 5)).toBe(false);
    expect(isBase32("MZXW6YTBOI")).toBe(false);
    expect(isBase32("mz")).toBe(false);
    expect(isBase32("")).toBe(true);
    expect(isBase32("", 0)).toBe(true);
  });
});

describe("base32 properties", () => {
  it("round-trips any bytes, agreeing with an independent encoder", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const text = base32Encode(bytes);
        expect(text).toBe(referenceEncode(bytes));
        expect(text.length).toBe(base32Length(bytes.length));
        expect(isBase32(text, bytes.length)).toBe(true);
        expect(Buffer.from(base32Decode(text)).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("accepts a string of the alphabet exactly when it is some bytes' encoding", () => {
    const alphabetString = fc
      .array(fc.constantFrom(...ALPHABET), { maxLength: 40 })
      .map((chars) => chars.join(""));
    fc.assert(
      fc.property(alphabetString, (text) => {
        let decoded: Uint8Array | undefined;
        try {
          decoded = base32Decode(text);
        } catch (error) {
          expect((error as CryptoError).code).toBe("TAHOE_ERR_CRYPTO_BASE32");
        }
        const canonical = decoded !== undefined && base32Encode(decoded) === text;
        expect(decoded === undefined || canonical).toBe(true);
        expect(isBase32(text)).toBe(decoded !== undefined);
        // Rejected exactly when the length is impossible or an unused bit is set.
        const r = text.length % 8;
        if (r === 1 || r === 3 || r === 6) expect(decoded).toBeUndefined();
      }),
      { numRuns: 1000 },
    );
  });

  it("rejects any character outside the alphabet, naming it and its position", () => {
    const notInAlphabet = fc
      .string({ unit: "binary", minLength: 1, maxLength: 1 })
      .filter((c) => !ALPHABET.includes(c));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), notInAlphabet, fc.nat(), (bytes, bad, where) => {
        const text = base32Encode(bytes);
        const at = where % (text.length + 1);
        const broken = text.slice(0, at) + bad + text.slice(at);
        const err = decodeError(broken, "thing");
        expect(err.code).toBe("TAHOE_ERR_CRYPTO_BASE32");
        expect(err.message).toContain(`thing: invalid base32 character ${JSON.stringify(bad)}`);
        expect(isBase32(broken)).toBe(false);
      }),
    );
  });

  it("rejects a valid encoding whose unused bits are set", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 40 }).filter((b) => b.length % 5 !== 0),
        fc.integer({ min: 1, max: 15 }),
        (bytes, flip) => {
          const text = base32Encode(bytes);
          const spare = (text.length * 5) % 8;
          const last = ALPHABET.indexOf(text.at(-1)!);
          const changed = last ^ (flip & ((1 << spare) - 1));
          fc.pre(changed !== last);
          const broken = text.slice(0, -1) + ALPHABET[changed];
          expect(decodeError(broken).message).toMatch(/non-zero unused bits/);
        },
      ),
    );
  });
});
