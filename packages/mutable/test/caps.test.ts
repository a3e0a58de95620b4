import { describe, expect, it } from "vitest";
import {
  deriveMutableSecrets,
  formatMutableCap,
  importMutablePrivateKey,
  MutableError,
  mutableCapsOf,
  parseMutableCap,
  readCapOf,
  storageIndexOfCap,
  verifyCapOf,
} from "../src/index.js";
import { loadMutableCases, loadSskVectors } from "./vectors.js";

const WRITEKEY = "fs6ul2fju2fvb2cfx7gt6ngycm";
const FINGERPRINT = "hncpinwszbggrurbvuaaexnftk3j5wfr7473pj2g734mo2isxlbq";

function refusal(text: string): MutableError {
  try {
    parseMutableCap(text);
  } catch (error) {
    expect(error).toBeInstanceOf(MutableError);
    expect((error as MutableError).code).toBe("TAHOE_ERR_MUTABLE_CAP");
    return error as MutableError;
  }
  throw new Error(`${text} was accepted`);
}

describe("ssk.json", () => {
  const vectors = loadSskVectors();

  it("has 240 cases, SDMF and MDMF", () => {
    expect(vectors).toHaveLength(240);
    expect(new Set(vectors.map((v) => v.format))).toEqual(new Set(["sdmf", "mdmf"]));
  });

  it("every case's write cap comes from its key alone, and parses and derives back", () => {
    for (const v of vectors) {
      const keyPair = importMutablePrivateKey(v.keyPem, `ssk.json[${v.index}]`);
      const { writekey, fingerprint, readkey, storageIndex } = deriveMutableSecrets(keyPair);
      const format = v.format === "sdmf" ? "SDMF" : "MDMF";
      const caps = mutableCapsOf(format, writekey, fingerprint);
      expect(formatMutableCap(caps.write), `ssk.json[${v.index}]`).toBe(v.expected);
      const parsed = parseMutableCap(v.expected);
      expect(parsed.kind).toBe("write");
      expect(parsed.format).toBe(format);
      expect(formatMutableCap(parsed)).toBe(v.expected);
      if (parsed.kind !== "write") throw new Error("not a write cap");
      expect(Buffer.from(readCapOf(parsed).readkey).equals(Buffer.from(readkey))).toBe(true);
      expect(Buffer.from(storageIndexOfCap(parsed)).equals(Buffer.from(storageIndex))).toBe(true);
      const read = formatMutableCap(readCapOf(parsed));
      const verify = formatMutableCap(verifyCapOf(parsed));
      expect(formatMutableCap(verifyCapOf(parseMutableCap(read)))).toBe(verify);
      expect(read.startsWith(format === "SDMF" ? "URI:SSK-RO:" : "URI:MDMF-RO:")).toBe(true);
      expect(verify.startsWith(format === "SDMF" ? "URI:SSK-Verifier:" : "URI:MDMF-Verifier:")).toBe(true);
    }
  });
});

describe("mutable caps", () => {
  it("derive read and verify caps from the write cap exactly as the vectors", () => {
    for (const c of loadMutableCases()) {
      const write = parseMutableCap(c.caps.write);
      if (write.kind !== "write") throw new Error("not a write cap");
      expect(formatMutableCap(readCapOf(write))).toBe(c.caps.read);
      expect(formatMutableCap(verifyCapOf(write))).toBe(c.caps.verify);
      expect(formatMutableCap(verifyCapOf(parseMutableCap(c.caps.read)))).toBe(c.caps.verify);
    }
  });

  it("accept extra MDMF fields (old k:segsize hints) and drop them, as Tahoe does", () => {
    for (const kind of ["MDMF", "MDMF-RO", "MDMF-Verifier"]) {
      const cap = parseMutableCap(`URI:${kind}:${WRITEKEY}:${FINGERPRINT}:3:131073`);
      expect(formatMutableCap(cap)).toBe(`URI:${kind}:${WRITEKEY}:${FINGERPRINT}`);
    }
  });

  it("refuse SSK caps with extra fields", () => {
    expect(refusal(`URI:SSK:${WRITEKEY}:${FINGERPRINT}:3:10`).message).toContain(
      "exactly two fields, this one has 4",
    );
    refusal(`URI:SSK-RO:${WRITEKEY}:${FINGERPRINT}:`);
  });

  it("refuse malformed and edited caps, naming the cap and what is wrong", () => {
    const cases: [string, string][] = [
      ["", "unknown prefix"],
      ["URI:CHK:abc", "unknown prefix"],
      [`uri:ssk:${WRITEKEY}:${FINGERPRINT}`, "upper-case URI:"],
      [`URI:SSK:${WRITEKEY}`, "fingerprint field is missing"],
      [`URI:SSK::${FINGERPRINT}`, "writekey field is missing"],
      [`URI:SSK:${WRITEKEY.slice(1)}:${FINGERPRINT}`, "writekey field is 25 characters; it must be 26"],
      [`URI:MDMF-RO:${WRITEKEY}:${FINGERPRINT}a`, "fingerprint field is 53 characters; it must be 52"],
      [`URI:SSK:${WRITEKEY.toUpperCase()}:${FINGERPRINT}`, "Tahoe base32 is lower-case"],
      [`URI:SSK-Verifier:${WRITEKEY.slice(0, 25)}1:${FINGERPRINT}`, 'invalid base32 character "1"'],
      [`URI:SSK:${WRITEKEY.slice(0, 25)}b:${FINGERPRINT}`, "non-zero unused bits"],
      [`URI:MDMF:${WRITEKEY}:${FINGERPRINT.slice(0, 51)}b`, "non-zero unused bits"],
      [` URI:SSK:${WRITEKEY}:${FINGERPRINT}`, "unknown prefix"],
    ];
    for (const [text, why] of cases) {
      const error = refusal(text);
      expect(error.message, text).toContain(why);
      expect(error.message).toContain(JSON.stringify(text.length > 160 ? `${text.slice(0, 160)}...` : text));
      expect(error.hint).toMatch(/URI:SSK:/);
    }
  });

  it("refuse a value that is not a string", () => {
    expect(refusal(42 as unknown as string).message).toContain("a number, not a string");
  });
});
