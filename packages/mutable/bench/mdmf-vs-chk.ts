/**
 * MDMF versus CHK, in one run on the same bytes: encode a whole version (encrypt, zfec 3-of-10,
 * hash trees, sign) and decode it back (verify every share's signature and hashes, decode,
 * decrypt), next to @lafs/immutable's CHK encoder and decoder on a file of the same size; then a
 * 1 MiB in-place MDMF update planned against the big file's trees. Prints figures and ratios;
 * never pass/fail. Run: pnpm --filter @lafs/mutable bench (MUTABLE_BENCH_MIB=100 by default).
 */
import { randomBytes } from "node:crypto";
import { bufferShareReader, bytesSource, createChkDecoder, encodeChkToBuffers } from "@lafs/immutable";
import {
  decodeMutableSegment,
  decodeMutableVersion,
  deriveMutableSecrets,
  encodeMutableVersion,
  generateMutableKeyPair,
  mdmfUpdateRange,
  mutableCapsOf,
  planMdmfUpdate,
  verifyMutableShare,
} from "../src/index.js";

const SIZE = Number(process.env.MUTABLE_BENCH_MIB ?? 100) * 2 ** 20;
const K = 3;
const N = 10;
const PASSES = 2;
const MB = 1e6;

async function best(run: () => unknown | Promise<unknown>): Promise<number> {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < PASSES; i++) {
    const t = process.hrtime.bigint();
    await run();
    min = Math.min(min, Number(process.hrtime.bigint() - t) / 1e9);
  }
  return min;
}

const plaintext = randomBytes(SIZE);
const keyPair = generateMutableKeyPair();
const secrets = deriveMutableSecrets(keyPair);
const caps = mutableCapsOf("MDMF", secrets.writekey, secrets.fingerprint);
const convergenceSecret = randomBytes(16);

const encodeMdmf = () =>
  encodeMutableVersion({ format: "MDMF", keyPair, secrets, plaintext, seqnum: 1, k: K, n: N });
const encodeChk = () => encodeChkToBuffers(bytesSource(plaintext), { k: K, n: N, convergenceSecret });

const tMdmfEncode = await best(encodeMdmf);
const mdmf = encodeMdmf();
const decodeMdmf = (numbers: number[]) => () => {
  const out = decodeMutableVersion(caps.read, new Map(numbers.map((sn) => [sn, mdmf.shares[sn]!])));
  if (!Buffer.from(out.plaintext).equals(plaintext)) throw new Error("MDMF decode mismatch");
};
const tMdmfPrimary = await best(decodeMdmf([0, 1, 2]));
const tMdmfCheck = await best(decodeMdmf([7, 8, 9]));

// A 1 MiB write in the middle: fetch what Tahoe's update fetches (every share's block hash
// tree, the boundary segments), then plan.
const offset = Math.floor(SIZE / 2) + 12345;
const patch = randomBytes(2 ** 20);
const verified = [0, 1, 2].map((sn) => verifyMutableShare(mdmf.shares[sn]!, sn, secrets.fingerprint));
const range = mdmfUpdateRange(mdmf.header, offset, patch.length);
const oldSegments = new Map(
  range.segmentsToRead.map((s) => [s, decodeMutableSegment(verified, s, secrets.readkey)]),
);
const trees = new Map(mdmf.blockHashTrees.map((tree, sn) => [sn, tree]));
const update = () =>
  planMdmfUpdate({
    keyPair,
    secrets,
    old: mdmf.header,
    oldBlockHashTrees: trees,
    oldSegments,
    offset,
    data: patch,
  });
const tUpdate = await best(update);
const plan = update();
const writtenPerShare = plan.writes[0]!.reduce((sum, w) => sum + w.data.length, 0);
mdmf.shares.length = 0;

const tChkEncode = await best(encodeChk);
const chk = await encodeChk();
const decodeChk = (numbers: number[]) => async () => {
  const out = await createChkDecoder(
    chk.result.readCap,
    numbers.map((sn) => bufferShareReader(sn, chk.shares[sn]!)),
  ).readAll();
  if (!out.equals(plaintext)) throw new Error("CHK decode mismatch");
};
const tChkPrimary = await best(decodeChk([0, 1, 2]));
const tChkCheck = await best(decodeChk([7, 8, 9]));

const rate = (seconds: number) => `${(SIZE / seconds / MB).toFixed(0).padStart(5)} MB/s`;
const row = (what: string, mdmfSeconds: number, chkSeconds: number) =>
  console.log(
    `  ${what.padEnd(26)} MDMF ${rate(mdmfSeconds)}  CHK ${rate(chkSeconds)}  MDMF/CHK time ${(mdmfSeconds / chkSeconds).toFixed(2)}x`,
  );
console.log(`MDMF vs CHK, ${K}-of-${N}, ${SIZE / 2 ** 20} MiB, best of ${PASSES} (MB = 10^6 bytes of file)`);
row("encode", tMdmfEncode, tChkEncode);
row("decode from shares 0,1,2", tMdmfPrimary, tChkPrimary);
row("decode from shares 7,8,9", tMdmfCheck, tChkCheck);
console.log(
  `  1 MiB in-place update: segments ${range.startSegment}..${range.endSegment} rewritten, ${(tUpdate * 1000).toFixed(0)} ms to plan, ` +
    `${writtenPerShare} bytes written per share of ${plan.header.offsets.eof} (${((100 * writtenPerShare) / plan.header.offsets.eof).toFixed(2)}%)`,
);
