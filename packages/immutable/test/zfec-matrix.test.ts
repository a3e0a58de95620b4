import { describe, expect, it } from "vitest";
import { encodingMatrix } from "../src/zfec/matrix.js";
import { coderFactories, hex } from "./zfec-helpers.js";

const row = (k: number, n: number, r: number) => hex(encodingMatrix(k, n).subarray(r * k, r * k + k));

describe("zfec encoding matrix: the known rows of wire-formats §3.2", () => {
  it("(1,3): every share is a copy", () => {
    expect([row(1, 3, 1), row(1, 3, 2)]).toEqual(["01", "01"]);
  });

  it("(2,3): row 2 is [03 02]", () => {
    expect(row(2, 3, 2)).toBe("0302");
  });

  it("(3,10): rows 3..9", () => {
    expect([3, 4, 5, 6, 7, 8, 9].map((r) => row(3, 10, r))).toEqual([
      "0f0806",
      "2d301c",
      "99e078",
      "0be7ed",
      "893bb3",
      "46f1b6",
      "bad962",
    ]);
  });

  it("(101,256): the start of row 101 and the end of row 255", () => {
    expect(row(101, 256, 101).slice(0, 16)).toBe("7da76be07513c0e3");
    expect(row(101, 256, 255).slice(-8)).toBe("e56c6005");
  });

  it.each([
    [1, 1],
    [3, 10],
    [101, 256],
    [200, 201],
    [256, 256],
  ])("(%i,%i): the top k rows are the identity", (k, n) => {
    const identity = new Uint8Array(k * k);
    for (let i = 0; i < k; i++) identity[i * k + i] = 1;
    expect(hex(encodingMatrix(k, n).subarray(0, k * k))).toBe(hex(identity));
  });

  it("is cached per (k, n)", () => {
    expect(encodingMatrix(3, 10)).toBe(encodingMatrix(3, 10));
    expect(encodingMatrix(3, 10)).not.toBe(encodingMatrix(3, 11));
  });

  describe.each(coderFactories)("$label coder applies those rows", ({ make }) => {
    it("(3,10) unit blocks give back the matrix columns", () => {
      // Primary block j = [1] at position j and 0 elsewhere makes check block r equal to E[r][j].
      const coder = make(3, 10);
      for (let j = 0; j < 3; j++) {
        const blocks = [0, 1, 2].map((i) => Uint8Array.of(i === j ? 1 : 0));
        const checks = coder.encode(blocks);
        expect(checks.map((b) => b[0])).toEqual(
          [3, 4, 5, 6, 7, 8, 9].map((r) => encodingMatrix(3, 10)[r * 3 + j]),
        );
      }
    });

    it("(2,3) check block of [1,2] and [3,4] is 03*D0 ^ 02*D1", () => {
      const [check] = make(2, 3).encode([Uint8Array.of(1, 2), Uint8Array.of(3, 4)]);
      // 03*01 ^ 02*03 = 03 ^ 06 = 05; 03*02 ^ 02*04 = 06 ^ 08 = 0e
      expect(hex(check!)).toBe("050e");
    });
  });
});
