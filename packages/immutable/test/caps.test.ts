import { describe, expect, it } from "vitest";
import {
  decodeShareHeader,
  encodeShareHeader,
  formatCap,
  parseChkReadCap,
  parseImmutableCap,
  planChk,
  storageIndexOfKey,
  verifyCapOf,
} from "../src/index.js";

const READ = "URI:CHK:yzxcoagbetwet65ltjpbqyli3m:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:56";
const VERIFY =
  "URI:CHK-Verifier:i5nhq74zw2crkop634ra4hrvzm:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:56";

describe("caps", () => {
  it("parse and format round trip", () => {
    for (const text of [READ, VERIFY, "URI:LIT:", "URI:LIT:mfrgg"])
      expect(formatCap(parseImmutableCap(text))).toBe(text);
    const cap = parseChkReadCap(READ);
    expect(cap).toMatchObject({ k: 1, n: 1, size: 56 });
    expect(formatCap(verifyCapOf(cap))).toBe(VERIFY);
    expect(Buffer.from(storageIndexOfKey(cap.key)).toString("hex")).toBe("475a787f99b6851539fedf220e1e35cb");
  });

  it.each([
    [
      "URI:CHK:yzxcoagbetwet65ltjpbqyli3n:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:56",
      "non-zero trailing bits",
    ],
    [
      "URI:CHK:YZXCOAGBETWET65LTJPBQYLI3M:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1:56",
      "upper case",
    ],
    [
      "URI:CHK:yzxcoagbetwet65ltjpbqyli3m:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:3:2:56",
      "k > n",
    ],
    [
      "URI:CHK:yzxcoagbetwet65ltjpbqyli3m:6b7inuiha2xdtgqzd55i6aeggutnxzr6qfwpv2ep5xlln6pgef7a:1:1",
      "missing size",
    ],
    ["URI:SSK:abc:def", "another kind"],
    ["URI:LIT:mfrgh", "bad LIT data"],
  ])("reject %s (%s) with TAHOE_ERR_IMMUTABLE_CAP", (text) => {
    expect(() => parseImmutableCap(text)).toThrow(
      expect.objectContaining({ code: "TAHOE_ERR_IMMUTABLE_CAP" }),
    );
  });

  it("a read-cap parser refuses a verify cap", () => {
    expect(() => parseChkReadCap(VERIFY)).toThrow(/not a CHK read cap/);
  });
});

describe("planChk", () => {
  it.each([
    [0, 3, 10],
    [100, 0, 10],
    [100, 4, 3],
    [100, 3, 257],
    [1.5, 1, 1],
  ])("refuses size=%d k=%d n=%d with TAHOE_ERR_IMMUTABLE_PARAMS", (size, k, n) => {
    expect(() => planChk(size, { k, n })).toThrow(
      expect.objectContaining({ code: "TAHOE_ERR_IMMUTABLE_PARAMS" }),
    );
  });

  it("switches to the v2 header when a field outgrows 32 bits", () => {
    const plan = planChk(2 ** 33, { k: 1, n: 1, maxSegmentSize: 2 ** 20 });
    expect(plan.layout.version).toBe(2);
    expect(plan.layout.data).toBe(0x44);
    expect(plan.shareSize).toBe(plan.layout.uebLength + 8 + plan.uebSize);
    expect(planChk(2 ** 31, { k: 1, n: 1 }).layout.version).toBe(1);
    const header = { ...plan.layout, blockSize: plan.blockSize, shareDataSize: plan.shareDataSize };
    const bytes = encodeShareHeader(header);
    expect(bytes.length).toBe(0x44);
    expect(bytes.readBigUInt64BE(12)).toBe(BigInt(2 ** 33));
    expect(decodeShareHeader(bytes)).toEqual(header);
  });
});
