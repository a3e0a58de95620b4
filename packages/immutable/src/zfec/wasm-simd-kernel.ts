import { gfMul } from "./galois-field.js";
import { type MultiplyKernel, outputBlock, type RowMultiplier } from "./kernel.js";
import { simdModuleBytes } from "./wasm-simd-module.js";

type MultiplyExport = (
  tables: number,
  inputs: number,
  stride: number,
  k: number,
  outputs: number,
  rows: number,
  tile: number,
) => void;

/**
 * The slice of the WebAssembly API used here, typed locally: the project compiles without
 * the DOM library, and @types/node for Node 20 does not declare WebAssembly.
 */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array<ArrayBuffer>): boolean;
  Module: new (bytes: Uint8Array<ArrayBuffer>) => object;
  Instance: new (module: object) => { readonly exports: unknown };
}

interface SimdEngine {
  memory: WasmMemory;
  multiply: MultiplyExport;
  /** The tables currently in memory at offset 0, so repeated calls skip the copy. */
  loadedTables: Uint8Array | undefined;
}

/** Bytes of inputs plus outputs handled per call: large enough to amortise, small enough for L2. */
const CHUNK_BUDGET = 256 * 1024;
/** Bytes of inputs a column tile may span, to stay in L1. */
const TILE_BUDGET = 16 * 1024;
const PAGE = 65536;

let engine: SimdEngine | null | undefined;

/** The one shared engine, or null where WebAssembly or its SIMD proposal is missing. */
function simdEngine(): SimdEngine | null {
  if (engine === undefined) {
    engine = null;
    const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    if (wasm !== undefined) {
      const bytes = simdModuleBytes();
      // validate() is false where the runtime has WebAssembly but not its SIMD proposal.
      if (wasm.validate(bytes)) {
        const instance = new wasm.Instance(new wasm.Module(bytes));
        const exports = instance.exports as { memory: WasmMemory; multiply: MultiplyExport };
        engine = { memory: exports.memory, multiply: exports.multiply, loadedTables: undefined };
      }
    }
  }
  return engine;
}

export function isWasmSimdAvailable(): boolean {
  return simdEngine() !== null;
}

/** Nibble tables, 32 bytes per coefficient: c*i for i < 16, then c*(i << 4). */
function nibbleTables(coefficients: Uint8Array, count: number): Uint8Array {
  const tables = new Uint8Array(count * 32);
  for (let i = 0; i < count; i++) {
    const c = coefficients[i]!;
    for (let x = 0; x < 16; x++) {
      tables[i * 32 + x] = gfMul(c, x);
      tables[i * 32 + 16 + x] = gfMul(c, x << 4);
    }
  }
  return tables;
}

/** The kernel works on 32-byte columns (two vectors at once, for instruction-level parallelism). */
const COLUMN = 32;
const roundUp = (x: number) => (x + COLUMN - 1) & -COLUMN;

/** The WASM SIMD kernel, or undefined where the runtime lacks WASM SIMD. */
export function wasmSimdKernel(): MultiplyKernel | undefined {
  const simd = simdEngine();
  if (simd === null) return undefined;
  return {
    name: "wasm-simd",
    prepare(coefficients: Uint8Array, rows: number, k: number): RowMultiplier {
      const tables = nibbleTables(coefficients, rows * k);
      const chunk = Math.max(COLUMN, Math.floor(CHUNK_BUDGET / (k + rows)) & -COLUMN);
      const tile = Math.max(COLUMN, Math.floor(TILE_BUDGET / k) & -COLUMN);
      return {
        apply(inputs, length, given) {
          const outputs: Uint8Array[] = [];
          // Every byte of each output is written below: the caller's buffers need no zeroing.
          for (let r = 0; r < rows; r++) outputs.push(outputBlock(given, r, length, false));
          if (length === 0 || rows === 0) return outputs;
          const stride = Math.min(chunk, roundUp(length));
          const inBase = roundUp(tables.length);
          const outBase = inBase + k * stride;
          const needed = outBase + rows * stride;
          const memory = simd.memory;
          if (memory.buffer.byteLength < needed) {
            memory.grow(Math.ceil((needed - memory.buffer.byteLength) / PAGE));
          }
          const heap = new Uint8Array(memory.buffer);
          if (simd.loadedTables !== tables) {
            heap.set(tables, 0);
            simd.loadedTables = tables;
          }
          for (let start = 0; start < length; start += stride) {
            const count = Math.min(stride, length - start);
            for (let j = 0; j < k; j++) {
              heap.set(inputs[j]!.subarray(start, start + count), inBase + j * stride);
            }
            // A short last chunk is computed to the full stride; the extra columns are ignored.
            simd.multiply(0, inBase, stride, k, outBase, rows, tile);
            for (let r = 0; r < rows; r++) {
              const from = outBase + r * stride;
              outputs[r]!.set(heap.subarray(from, from + count), start);
            }
          }
          return outputs;
        },
      };
    },
  };
}
