import { base32Decode, base32Encode } from "@lafs/crypto";
import { describe, expect, it } from "vitest";
import {
  decodeMutableVersion,
  deriveMutableSecrets,
  encodeMutableVersion,
  formatMutableCap,
  importMutablePrivateKey,
  type MutableHeader,
  mutableCapsOf,
  mutableLeaseSecrets,
  parseMutableCap,
  parseMutableHeader,
  updateMdmfShares,
  verifyMutableShare,
  writeEnablerFor,
} from "../src/index.js";
import { b64, loadMutableCases, type MutableStep, sha256hex, stepPlaintext } from "./vectors.js";

const cases = loadMutableCases();

/** The vector's offsets table, in our names. */
function offsetsOf(header: MutableHeader): Record<string, number> {
  const o = header.offsets;
  const common = {
    signature: o.signature,
    share_hash_chain: o.shareHashChain,
    block_hash_tree: o.blockHashTree,
    share_data: o.shareData,
    enc_privkey: o.encPrivkey,
    EOF: o.eof,
  };
  return header.format === "SDMF"
    ? common
    : { ...common, verification_key: o.verificationKey, verification_key_end: o.verificationKeyEnd };
}

function sharesOf(step: MutableStep): Map<number, Buffer> {
  return new Map(Object.entries(step.shares_b64).map(([shnum, data]) => [Number(shnum), b64(data)]));
}

describe("mutable-shares.json", () => {
  it("has the nine published cases", () => {
    expect(cases.map((c) => c.name)).toHaveLength(9);
  });

  for (const c of cases) {
    describe(c.name, () => {
      const keyPair = importMutablePrivateKey(c.key_pem, `ssk.json[${c.ssk_json_index}]`);
      const secrets = deriveMutableSecrets(keyPair);

      it("imports the key to the exact PKCS#8 and SPKI DER", () => {
        expect(Buffer.from(keyPair.privateKeyDer).toString("base64")).toBe(c.privkey_pkcs8_der_b64);
        expect(Buffer.from(keyPair.publicKeyDer).toString("base64")).toBe(c.pubkey_spki_der_b64);
        expect(keyPair.publicKeyDer).toHaveLength(294);
        // DER in, DER out: the same bytes.
        const again = importMutablePrivateKey(b64(c.privkey_pkcs8_der_b64));
        expect(Buffer.from(again.privateKeyDer).equals(Buffer.from(keyPair.privateKeyDer))).toBe(true);
      });

      it("derives writekey, readkey, storage index, fingerprint, encprivkey, write enablers and lease secrets", () => {
        expect(base32Encode(secrets.writekey)).toBe(c.writekey_b32);
        expect(base32Encode(secrets.readkey)).toBe(c.readkey_b32);
        expect(base32Encode(secrets.storageIndex)).toBe(c.storage_index_b32);
        expect(base32Encode(secrets.fingerprint)).toBe(c.fingerprint_b32);
        expect(Buffer.from(secrets.encprivkey).toString("base64")).toBe(c.encprivkey_b64);
        expect(Buffer.from(secrets.writeEnablerMaster).toString("base64")).toBe(c.write_enabler_master_b64);
        const tubid = base32Decode(c.example_server.tubid_b32);
        const we = writeEnablerFor(secrets.writeEnablerMaster, tubid);
        expect(Buffer.from(we).toString("base64")).toBe(c.example_server.write_enabler_b64);
        const lease = mutableLeaseSecrets(
          Buffer.from(c.example_server.client_lease_secret),
          secrets.storageIndex,
          tubid,
        );
        expect(Buffer.from(lease.renewSecret).toString("base64")).toBe(c.example_server.renew_secret_b64);
        expect(Buffer.from(lease.cancelSecret).toString("base64")).toBe(c.example_server.cancel_secret_b64);
      });

      it("makes the write, read and verify caps, and parses them back", () => {
        const caps = mutableCapsOf(c.format, secrets.writekey, secrets.fingerprint);
        expect(formatMutableCap(caps.write)).toBe(c.caps.write);
        expect(formatMutableCap(caps.read)).toBe(c.caps.read);
        expect(formatMutableCap(caps.verify)).toBe(c.caps.verify);
        for (const text of Object.values(c.caps)) expect(formatMutableCap(parseMutableCap(text))).toBe(text);
      });

      let previous: Map<number, Uint8Array> | undefined;
      let previousPlaintext: Buffer | undefined;
      c.steps.forEach((step, stepIndex) => {
        it(`step ${stepIndex} (${step.op} ${step.args.join(", ")}): every share byte-exact, verified, read back`, () => {
          const given = stepPlaintext(step);
          const salts = step.salts_b64_in_call_order.map(b64);
          const pssSalt = b64(step.pss_salts_b64[0]!);
          const cap = parseMutableCap(c.caps.write);
          let plaintext: Buffer;
          let shares: Uint8Array[];
          let header: MutableHeader;
          let drawn: Uint8Array[];
          if (step.op === "update") {
            const [offset] = step.args as [number, number];
            plaintext = Buffer.from(previousPlaintext!);
            given.copy(plaintext, offset);
            const result = updateMdmfShares({
              keyPair,
              cap,
              shares: previous!,
              offset,
              data: given,
              salts,
              pssSalt,
            });
            // Only the touched segments are written: 2 salts, blocks of segments 0 and 1 only.
            expect(result.range.startSegment).toBe(0);
            expect(result.range.endSegment).toBe(1);
            const blockWrites = result.writes[0]!.filter(
              (w) => w.offset >= 2167 && w.offset < result.header.offsets.blockHashTree,
            );
            expect(blockWrites.map((w) => w.offset)).toEqual([2167, 2167 + 65536 + 16]);
            ({ shares, header } = result);
            drawn = result.salts;
          } else {
            plaintext = given;
            const version = encodeMutableVersion({
              format: c.format,
              keyPair,
              secrets,
              plaintext,
              seqnum: step.seqnum,
              k: c.k,
              n: c.n,
              salts,
              pssSalt,
            });
            ({ shares, header } = version);
            drawn = version.salts;
          }
          // For an update the vector's sha256 is of the whole file after the patch.
          expect(sha256hex(plaintext)).toBe(step.plaintext_sha256);
          expect(drawn.map((s) => Buffer.from(s).toString("base64"))).toEqual(step.salts_b64_in_call_order);
          expect(header.seqnum).toBe(step.seqnum);
          expect(Buffer.from(header.rootHash).toString("base64")).toBe(step.root_hash_b64);
          expect(header.iv === undefined ? null : Buffer.from(header.iv).toString("base64")).toBe(
            step.sdmf_iv_b64,
          );
          expect(header.segmentSize).toBe(step.segment_size);
          expect(header.dataLength).toBe(step.data_length);
          expect(Buffer.from(header.signedPrefix).toString("base64")).toBe(step.signed_prefix_b64);
          expect(offsetsOf(header)).toEqual(step.offsets);
          const expected = sharesOf(step);
          expect(shares).toHaveLength(expected.size);
          for (const [shnum, bytes] of expected) {
            expect(Buffer.from(shares[shnum]!).equals(bytes), `share ${shnum}`).toBe(true);
            // What a servermap parses from the stored share equals what was encoded.
            expect(offsetsOf(parseMutableHeader(bytes, shnum))).toEqual(step.offsets);
            verifyMutableShare(bytes, shnum, cap.fingerprint);
          }
          const read = decodeMutableVersion(parseMutableCap(c.caps.read), expected);
          expect(Buffer.from(read.plaintext).equals(plaintext)).toBe(true);
          expect(read.corrupt).toEqual([]);
          previous = expected;
          previousPlaintext = plaintext;
        });
      });
    });
  }
});
