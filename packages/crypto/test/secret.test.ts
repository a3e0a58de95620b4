import { describe, expect, it } from "vitest";
import {
  base32Encode,
  constantTimeEqual,
  formatSecretFile,
  parseSecretFile,
  randomSecret,
} from "../src/index.js";
import { errorOf } from "./helpers.js";

describe("constantTimeEqual", () => {
  it("compares bytes and text, false on a length mismatch", () => {
    expect(constantTimeEqual("secret", "secret")).toBe(true);
    expect(constantTimeEqual("secret", "secreT")).toBe(false);
    expect(constantTimeEqual("secret", "secrets")).toBe(false);
    expect(constantTimeEqual("", "")).toBe(true);
    expect(constantTimeEqual(Buffer.from("ab"), "ab")).toBe(true);
    expect(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3]))).toBe(false);
  });
});

describe("randomSecret", () => {
  it("returns fresh random bytes of the asked length", () => {
    expect(randomSecret(32)).toHaveLength(32);
    expect(randomSecret(0)).toHaveLength(0);
    expect(randomSecret(16).equals(randomSecret(16))).toBe(false);
    expect(() => randomSecret(-1)).toThrow(RangeError);
    expect(() => randomSecret(1.5)).toThrow(RangeError);
  });
});

describe("secret files", () => {
  it("writes one line of base32 and reads it back", () => {
    const secret = randomSecret(32);
    const text = formatSecretFile(secret);
    expect(text).toMatch(/^[a-z2-7]{52}\n$/);
    expect(parseSecretFile(text, "private/secret", 32)).toEqual(secret);
    const convergence = randomSecret(16);
    expect(formatSecretFile(convergence)).toMatch(/^[a-z2-7]{26}\n$/);
    expect(parseSecretFile(formatSecretFile(convergence), "private/convergence", 16)).toEqual(convergence);
  });

  it("reads a file Tahoe wrote (the lease secret of derive_renewal_secret.py)", () => {
    const text = "boity2cdh7jvl3ltaeebuiobbspjmbuopnwbde2yeh4k6x7jioga\n";
    const secret = parseSecretFile(text, "private/secret", 32);
    expect(`${base32Encode(secret)}\n`).toBe(text);
    expect(parseSecretFile(`  ${text.trim()}\r\n\n`, "private/secret")).toEqual(secret);
  });

  it("names the file and the problem, never the secret", () => {
    const body = base32Encode(randomSecret(32));
    const cases: [string, string][] = [
      ["", "/n/private/secret: the file is empty"],
      [" \n", "/n/private/secret: the file is empty"],
      [`${body}\n${body}\n`, "/n/private/secret: expected one line of base32, found more than one word"],
      [
        `${body.slice(0, 20)}!${body.slice(21)}`,
        '/n/private/secret: invalid base32 character "!" at position 21',
      ],
      [body.toUpperCase(), "(Tahoe base32 is lower-case)"],
      [base32Encode(randomSecret(16)), "/n/private/secret: expected a 32-byte secret, found 16 bytes"],
      [body.slice(0, 51), "/n/private/secret: 51 base32 characters cannot encode a whole number of bytes"],
    ];
    for (const [text, message] of cases) {
      const err = errorOf(() => parseSecretFile(text, "/n/private/secret", 32));
      expect(err.code).toBe("TAHOE_ERR_CRYPTO_SECRET_FILE");
      expect(err.message).toContain(message);
      expect(err.message).not.toContain(body.slice(0, 10));
      expect(err.message.toLowerCase()).not.toContain(body.slice(0, 10));
      expect(err.hint).toMatch(/base32/);
    }
  });
});
