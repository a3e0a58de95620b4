/**
 * Erasure-coding throughput, 3-of-10 with Tahoe's default 1 MiB segments: our plain, table
 * and WASM SIMD kernels against zfec's C implementation (python3-zfec, when installed),
 * all on the same segment and block sizes, in the same run. Figures are MB/s of segment
 * data (10^6 bytes per second). Run: pnpm --filter @lafs/immutable bench
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createCoderWithKernel, type ErasureCoder } from "../src/zfec/coder.js";
import type { MultiplyKernel } from "../src/zfec/kernel.js";
import { plainKernel } from "../src/zfec/plain-kernel.js";
import { tableKernel } from "../src/zfec/table-kernel.js";
import { wasmSimdKernel } from "../src/zfec/wasm-simd-kernel.js";

const K = Number(process.env.BENCH_K ?? 3);
const N = Number(process.env.BENCH_N ?? 10);
const MAX_SEGMENT = 1024 * 1024;
const TOTAL_MIB = Number(process.env.BENCH_MIB ?? 64);
/** Tahoe's effective segment size: rounded up to a multiple of k (wire-formats §2.2). */
const SEGMENT = Math.ceil(MAX_SEGMENT / K) * K;
const BLOCK = SEGMENT / K;
const SEGMENTS = Math.ceil((TOTAL_MIB * 1024 * 1024) / SEGMENT);
/** Distinct segments cycled through, so the data is not one segment hot in cache. */
const DISTINCT = 4;
/** Each figure is the best of this many passes: other work on the machine only slows a pass. */
const PASSES = Number(process.env.BENCH_PASSES ?? 3);
/** Worst case for decoding: every primary block lost, all rebuilt from check blocks. */
const DECODE_INDICES = Array.from({ length: K }, (_, i) => N - K + i);

interface Result {
  name: string;
  encode: number;
  decode: number;
}

const segments = Array.from({ length: DISTINCT }, () =>
  Array.from({ length: K }, () => new Uint8Array(randomBytes(BLOCK))),
);

function mbPerSecond(seconds: number): number {
  return (SEGMENTS * SEGMENT) / seconds / 1e6;
}

/** Seconds of the fastest of PASSES runs. */
function time(run: () => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let pass = 0; pass < PASSES; pass++) {
    const start = process.hrtime.bigint();
    run();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e9);
  }
  return best;
}

function benchKernel(kernel: MultiplyKernel): Result {
  const coder: ErasureCoder = createCoderWithKernel(K, N, kernel);
  const checks = segments.map((primary) => coder.encode(primary));
  const received = checks.map((blocks) => blocks.slice(blocks.length - K));
  // Warm-up, so JIT tiers and WASM memory growth are not timed.
  coder.encode(segments[0]!);
  coder.decode(received[0]!, DECODE_INDICES);
  const encodeSeconds = time(() => {
    for (let s = 0; s < SEGMENTS; s++) coder.encode(segments[s % DISTINCT]!);
  });
  const decodeSeconds = time(() => {
    for (let s = 0; s < SEGMENTS; s++) coder.decode(received[s % DISTINCT]!, DECODE_INDICES);
  });
  const decoded = coder.decode(received[0]!, DECODE_INDICES);
  if (!decoded.every((block, i) => Buffer.from(block).equals(segments[0]![i]!))) {
    throw new Error(`${kernel.name}: decoding did not give back the data`);
  }
  return { name: kernel.name, encode: mbPerSecond(encodeSeconds), decode: mbPerSecond(decodeSeconds) };
}

const ZFEC_SCRIPT = `
import os, sys, time, zfec
k, n, block, segments, distinct, passes = (int(a) for a in sys.argv[1:7])
data = [tuple(os.urandom(block) for _ in range(k)) for _ in range(distinct)]
enc = zfec.Encoder(k, n)
dec = zfec.Decoder(k, n)
wanted = tuple(range(k, n))
indices = tuple(range(n - k, n))
checks = [tuple(enc.encode(d, wanted)[-k:]) for d in data]
enc.encode(data[0], wanted); dec.decode(checks[0], indices)
e = d = float("inf")
for _ in range(passes):
    t = time.perf_counter()
    for s in range(segments): enc.encode(data[s % distinct], wanted)
    e = min(e, time.perf_counter() - t)
for _ in range(passes):
    t = time.perf_counter()
    for s in range(segments): dec.decode(checks[s % distinct], indices)
    d = min(d, time.perf_counter() - t)
assert list(dec.decode(checks[0], indices)) == list(data[0])
print(e, d)
`;

/** Python 3 with zfec: the PATH one may be a pyenv build without Debian's python3-zfec. */
function zfecPython(): string | undefined {
  for (const python of ["python3", "/usr/bin/python3"]) {
    const probe = spawnSync(python, ["-c", "import zfec"], { stdio: "ignore" });
    if (probe.status === 0) return python;
  }
  return undefined;
}

function benchZfec(): Result | undefined {
  const python = zfecPython();
  if (python === undefined) return undefined;
  const args = [K, N, BLOCK, SEGMENTS, DISTINCT, PASSES].map(String);
  const run = spawnSync(python, ["-c", ZFEC_SCRIPT, ...args], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`zfec timing script failed: ${run.stderr}`);
  const [encodeSeconds, decodeSeconds] = run.stdout.trim().split(" ").map(Number) as [number, number];
  return { name: "zfec C", encode: mbPerSecond(encodeSeconds), decode: mbPerSecond(decodeSeconds) };
}

console.log(
  `zfec ${K}-of-${N}: ${SEGMENTS} segments of ${SEGMENT} bytes (${((SEGMENTS * SEGMENT) / 2 ** 20).toFixed(0)} MiB), ` +
    `blocks of ${BLOCK} bytes, best of ${PASSES} passes; decode rebuilds all ${K} primary blocks from blocks ${DECODE_INDICES.join(",")}`,
);
const zfec = benchZfec();
const simd = wasmSimdKernel();
const kernels = [plainKernel, tableKernel, ...(simd ? [simd] : [])];
const results = kernels.map(benchKernel);
if (!simd) console.log("wasm-simd: not available in this runtime");

const pad = (text: string, width: number) => text.padStart(width);
const ratio = (value: number, base: number | undefined) =>
  base === undefined ? "" : ` (${(value / base).toFixed(2)}x zfec C)`;
console.log(`${"implementation".padEnd(16)}${pad("encode MB/s", 14)}${pad("decode MB/s", 40)}`);
for (const r of [...results, ...(zfec ? [zfec] : [])]) {
  const encode = `${r.encode.toFixed(0)}${ratio(r.encode, zfec?.encode)}`;
  const decode = `${r.decode.toFixed(0)}${ratio(r.decode, zfec?.decode)}`;
  console.log(`${r.name.padEnd(16)}${pad(encode, 26)}${pad(decode, 28)}`);
}
if (!zfec) console.log("zfec C: not installed (apt-get install python3-zfec to compare)");
