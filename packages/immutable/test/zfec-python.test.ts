import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { coderFactories, hex, primaryBlocks } from "./zfec-helpers.js";

/**
 * Cross-check against zfec's own C code through Debian's python3-zfec. CI does not install
 * it, so this suite skips there; the known rows of §3.2 are the always-on oracle.
 */

/** The PATH python3 may be a pyenv build without Debian's packages, so try the system one too. */
function zfecPython(): string | undefined {
  for (const python of ["python3", "/usr/bin/python3"]) {
    const probe = spawnSync(python, ["-c", "import zfec"], { stdio: "ignore" });
    if (probe.status === 0) return python;
  }
  return undefined;
}

const python = zfecPython();
if (python === undefined) {
  console.warn(
    "\n*** zfec-python.test.ts SKIPPED: python3 cannot `import zfec` (apt-get install python3-zfec). ***\n" +
      "*** The byte-level cross-check against zfec's C implementation did not run.                 ***\n",
  );
}

const cases: Array<[k: number, n: number, length: number]> = [
  [1, 1, 5],
  [1, 3, 10],
  [2, 3, 5],
  [3, 10, 4097],
  [3, 10, 1],
  [7, 7, 17],
  [25, 100, 33],
  [71, 255, 17],
  [101, 256, 16],
  [256, 256, 3],
  [128, 256, 7],
];

const script = `
import json, sys, zfec
out = []
for k, n, blocks, decode_from in json.load(sys.stdin):
    data = [bytes.fromhex(b) for b in blocks]
    checks = zfec.Encoder(k, n).encode(data, list(range(k, n))) if n > k else []
    shares = data + list(checks)
    # zfec 1.5.2's Decoder(256, 256) segfaults; with k = n there is nothing to decode anyway.
    decoded = zfec.Decoder(k, n).decode([shares[i] for i in decode_from], decode_from) if n > k else data
    out.append({"checks": [bytes(c).hex() for c in checks], "decoded": [bytes(d).hex() for d in decoded]})
json.dump(out, sys.stdout)
`;

/** zfec wants primary blocks at their own positions; check blocks fill the others (§3.4). */
function zfecDecodeOrder(k: number, n: number): number[] {
  const checks = Array.from({ length: n - k }, (_, i) => k + i);
  return Array.from({ length: k }, (_, i) => (i % 2 === 0 && checks.length > 0 ? checks.shift()! : i)).map(
    (index, position) => (index >= k ? index : position),
  );
}

describe.skipIf(python === undefined)("zfec C implementation (python3-zfec) agrees byte for byte", () => {
  const inputs = cases.map(([k, n, length], i) => ({ k, n, primary: primaryBlocks(k, length, 500 + i) }));
  const reference = (() => {
    if (python === undefined) return [];
    const request = inputs.map(({ k, n, primary }) => [k, n, primary.map(hex), zfecDecodeOrder(k, n)]);
    const run = spawnSync(python, ["-c", script], { input: JSON.stringify(request), encoding: "utf8" });
    if (run.status !== 0) throw new Error(`python3 zfec failed: ${run.stderr}`);
    return JSON.parse(run.stdout) as Array<{ checks: string[]; decoded: string[] }>;
  })();

  describe.each(coderFactories)("$label", ({ make }) => {
    it.each(cases.map((c, i) => [...c, i] as const))(
      "(k=%i, n=%i) with %i-byte blocks",
      (k, n, _length, i) => {
        const { primary } = inputs[i]!;
        const coder = make(k, n);
        const checks = coder.encode(primary);
        expect(checks.map(hex)).toEqual(reference[i]!.checks);
        expect(reference[i]!.decoded).toEqual(primary.map(hex));
        const order = zfecDecodeOrder(k, n);
        const blocks = [...primary, ...checks];
        expect(
          coder
            .decode(
              order.map((index) => blocks[index]!),
              order,
            )
            .map(hex),
        ).toEqual(primary.map(hex));
      },
    );
  });
});
