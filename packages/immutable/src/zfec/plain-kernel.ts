import { GF_EXP, GF_LOG } from "./galois-field.js";
import { type MultiplyKernel, outputBlock, type RowMultiplier } from "./kernel.js";

/**
 * The reference kernel: every byte multiplied through the exp/log tables, exactly the
 * formula of the spec, B[t] = XOR_j E[j] * D_j[t]. Slow, obviously right, and the oracle
 * the faster kernels are tested against.
 */
export const plainKernel: MultiplyKernel = {
  name: "plain",
  prepare(coefficients: Uint8Array, rows: number, k: number): RowMultiplier {
    const coeffs = coefficients.slice(0, rows * k);
    return {
      apply(inputs, length, given) {
        const outputs: Uint8Array[] = [];
        for (let r = 0; r < rows; r++) {
          const out = outputBlock(given, r, length, true);
          for (let j = 0; j < k; j++) {
            const c = coeffs[r * k + j]!;
            if (c === 0) continue;
            const logC = GF_LOG[c]!;
            const input = inputs[j]!;
            for (let t = 0; t < length; t++) {
              const x = input[t]!;
              if (x !== 0) out[t]! ^= GF_EXP[logC + GF_LOG[x]!]!;
            }
          }
          outputs.push(out);
        }
        return outputs;
      },
    };
  },
};
