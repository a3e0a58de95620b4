import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { cpythonSetOrder, shareHashChainIndices } from "../src/index.js";

function python(): string | undefined {
  try {
    execFileSync("python3", ["-c", "pass"], { stdio: "ignore" });
    return "python3";
  } catch {
    return undefined;
  }
}

const PY = `
import json
def chain(n, s):
    p = 1
    while p < n: p *= 2
    here = p - 1 + s
    needed = set()
    while here != 0:
        needed.add(here + 1 if here % 2 == 1 else here - 1)
        here = (here - 1) // 2
    needed.add(p - 1 + s)
    return list(needed)
print(json.dumps([[chain(n, s) for s in range(n)] for n in range(1, 257)]))
`;

describe("share hash chain order", () => {
  it("matches the documented examples", () => {
    expect(shareHashChainIndices(3, 0)).toEqual([2, 3, 4]);
    expect(shareHashChainIndices(3, 2)).toEqual([1, 5, 6]);
    expect(shareHashChainIndices(5, 0)).toEqual([8, 2, 4, 7]);
  });

  it("grows the table like CPython once 3/5 full", () => {
    // 8 slots hold 4 keys; the 5th triggers a resize to 32 slots, which reorders.
    expect(cpythonSetOrder([40, 9, 18, 27])).toEqual([40, 9, 18, 27]);
    expect(cpythonSetOrder([40, 9, 18, 27, 36])).toEqual([36, 40, 9, 18, 27]);
  });

  it.skipIf(python() === undefined)("equals a real CPython set for every n <= 256 and every share", () => {
    const expected = JSON.parse(
      execFileSync("python3", ["-c", PY], { encoding: "utf8", maxBuffer: 1 << 26 }),
    ) as number[][][];
    const ours = expected.map((_, i) =>
      Array.from({ length: i + 1 }, (_, s) => shareHashChainIndices(i + 1, s)),
    );
    expect(ours).toEqual(expected);
  });
});
