/**
 * The WASM SIMD kernel, assembled here from its instructions at run time, so there is no
 * binary to commit and no toolchain to fetch: the bytes below are the whole module.
 *
 * It exports `memory` and
 *   multiply(tables, inputs, stride, k, outputs, rows, tile)
 * which, for each output row r and each byte column t, computes
 *   out[r][t] = XOR_j lo[r][j][x & 15] ^ hi[r][j][x >> 4],  x = in[j][t]
 * with i8x16.swizzle doing 16 nibble-table lookups at once (the pshufb technique of
 * ISA-L). Each coefficient c owns 32 table bytes: lo[i] = c*i and hi[i] = c*(i << 4),
 * which is right because multiplication by c distributes over XOR: c*x = c*lo(x) ^ c*hi(x).
 * Input block j sits at inputs + j*stride and output row r at outputs + r*stride; stride
 * and tile are multiples of 32: two vectors are processed per step, so two independent
 * dependency chains keep the SIMD units busy. Columns are walked in tiles so that the k
 * input tiles stay in L1 while every output row is computed from them.
 */

const I32 = 0x7f;
const V128 = 0x7b;

// Parameters, then locals, by index.
const TABLES = 0;
const INPUTS = 1;
const STRIDE = 2;
const K = 3;
const OUTPUTS = 4;
const ROWS = 5;
const TILE_SIZE = 6;
const TILE = 7;
const TILE_END = 8;
const ROW = 9;
const ROW_TABLES = 10;
const OUT_ROW = 11;
const COL = 12;
const TBL = 13;
const SRC = 14;
const J = 15;
const ACC = 16;
const VEC = 17;
const MASK = 18;
const ACC2 = 19;
const VEC2 = 20;
const LO = 21;
const HI = 22;

const block = [0x02, 0x40];
const loop = [0x03, 0x40];
const end = [0x0b];
const br = (depth: number) => [0x0c, depth];
const brIf = (depth: number) => [0x0d, depth];
const get = (local: number) => [0x20, local];
const set = (local: number) => [0x21, local];
const tee = (local: number) => [0x22, local];
const i32Const = (value: number) => [0x41, ...signedLeb128(value)];
const i32Add = [0x6a];
const i32Mul = [0x6c];
const i32LtU = [0x49];
const i32GeU = [0x4f];
const select = [0x1b];
// SIMD opcodes: prefix 0xfd, then the opcode; memarg = log2(alignment), offset.
const v128Load = (offset: number) => [0xfd, 0x00, 4, ...unsignedLeb128(offset)];
const v128Store = (offset: number) => [0xfd, 0x0b, 4, ...unsignedLeb128(offset)];
const v128Const = (byte: number) => [0xfd, 0x0c, ...new Array<number>(16).fill(byte)];
const i8x16Swizzle = [0xfd, 0x0e];
const v128And = [0xfd, 0x4e];
const v128Xor = [0xfd, 0x51];
const i8x16ShrU = [0xfd, 0x6d];

// biome-ignore format: one line per step reads like the assembly it is
const body: number[] = [
  ...v128Const(0x0f), ...set(MASK),
  ...i32Const(0), ...set(TILE),
  ...block, ...loop, // tiles of columns
  ...get(TILE), ...get(STRIDE), ...i32GeU, ...brIf(1),
  // TILE_END = min(TILE + TILE_SIZE, STRIDE)
  ...get(TILE), ...get(TILE_SIZE), ...i32Add, ...tee(TILE_END),
  ...get(STRIDE),
  ...get(TILE_END), ...get(STRIDE), ...i32LtU,
  ...select, ...set(TILE_END),
  ...i32Const(0), ...set(ROW),
  ...get(TABLES), ...set(ROW_TABLES),
  ...get(OUTPUTS), ...set(OUT_ROW),
  ...block, ...loop, // output rows
  ...get(ROW), ...get(ROWS), ...i32GeU, ...brIf(1),
  ...get(TILE), ...set(COL),
  ...block, ...loop, // 32-byte columns of this tile
  ...get(COL), ...get(TILE_END), ...i32GeU, ...brIf(1),
  ...v128Const(0), ...set(ACC),
  ...v128Const(0), ...set(ACC2),
  ...get(ROW_TABLES), ...set(TBL),
  ...get(INPUTS), ...get(COL), ...i32Add, ...set(SRC),
  ...get(K), ...set(J),
  ...loop, // input blocks; k >= 1, so test at the bottom
  ...get(SRC), ...v128Load(0), ...set(VEC),
  ...get(SRC), ...v128Load(16), ...set(VEC2),
  ...get(TBL), ...v128Load(0), ...set(LO),
  ...get(TBL), ...v128Load(16), ...set(HI),
  ...get(ACC),
  ...get(LO), ...get(VEC), ...get(MASK), ...v128And, ...i8x16Swizzle, ...v128Xor,
  ...get(HI), ...get(VEC), ...i32Const(4), ...i8x16ShrU, ...i8x16Swizzle, ...v128Xor,
  ...set(ACC),
  ...get(ACC2),
  ...get(LO), ...get(VEC2), ...get(MASK), ...v128And, ...i8x16Swizzle, ...v128Xor,
  ...get(HI), ...get(VEC2), ...i32Const(4), ...i8x16ShrU, ...i8x16Swizzle, ...v128Xor,
  ...set(ACC2),
  ...get(TBL), ...i32Const(32), ...i32Add, ...set(TBL),
  ...get(SRC), ...get(STRIDE), ...i32Add, ...set(SRC),
  ...get(J), ...i32Const(-1), ...i32Add, ...tee(J),
  ...brIf(0),
  ...end,
  ...get(OUT_ROW), ...get(COL), ...i32Add, ...tee(SRC), ...get(ACC), ...v128Store(0),
  ...get(SRC), ...get(ACC2), ...v128Store(16),
  ...get(COL), ...i32Const(32), ...i32Add, ...set(COL),
  ...br(0),
  ...end, ...end,
  ...get(ROW), ...i32Const(1), ...i32Add, ...set(ROW),
  ...get(ROW_TABLES), ...get(K), ...i32Const(32), ...i32Mul, ...i32Add, ...set(ROW_TABLES),
  ...get(OUT_ROW), ...get(STRIDE), ...i32Add, ...set(OUT_ROW),
  ...br(0),
  ...end, ...end,
  ...get(TILE_END), ...set(TILE),
  ...br(0),
  ...end, ...end,
  ...end, // function
];

const PARAM_COUNT = 7;
const localDecls = [2, 9, I32, 7, V128]; // two groups: 9 x i32, 7 x v128

function unsignedLeb128(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

function signedLeb128(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function vector(items: number[][]): number[] {
  return [...unsignedLeb128(items.length), ...items.flat()];
}

function section(id: number, content: number[]): number[] {
  return [id, ...unsignedLeb128(content.length), ...content];
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...unsignedLeb128(bytes.length), ...bytes];
}

/** The module's bytes. */
export function simdModuleBytes(): Uint8Array<ArrayBuffer> {
  const funcType = [0x60, ...vector(new Array<number[]>(PARAM_COUNT).fill([I32])), 0x00];
  const code = [...localDecls, ...body];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector([funcType])),
    ...section(3, vector([[0]])),
    ...section(5, vector([[0x00, 1]])), // one memory, at least one 64 KiB page, no maximum
    ...section(
      7,
      vector([
        [...name("memory"), 0x02, 0],
        [...name("multiply"), 0x00, 0],
      ]),
    ),
    ...section(10, vector([[...unsignedLeb128(code.length), ...code]])),
  ]);
}
