import { base32Decode, base32Encode } from "@lafs/crypto";
import { aesCtr, dataKeyOf, readkeyOf, storageIndexOfReadkey } from "@lafs/mutable";
import { describe, expect, it } from "vitest";
import {
  type DirectoryEntry,
  decryptChildWriteCap,
  encryptChildWriteCap,
  packDirectory,
  parseDirectoryCap,
  readOnlyDirectoryCap,
  unpackDirectory,
  verifyDirectoryCap,
} from "../src/index.js";
import { type DirnodeCase, dirnodeCases, type UnpackedChild } from "./vectors.js";

const cases = dirnodeCases();

function entriesIn(c: DirnodeCase): DirectoryEntry[] {
  return c.children_in.map((child) => ({
    name: child.name_as_given,
    ...(child.rw_uri === null ? {} : { writeCap: child.rw_uri }),
    ...(child.ro_uri === null ? {} : { readCap: child.ro_uri }),
    metadata: child.metadata,
    kind: "unknown",
  }));
}

function asTahoeView(entries: readonly DirectoryEntry[]): Record<string, UnpackedChild> {
  return Object.fromEntries(
    entries.map((e) => [
      e.name,
      { rw_uri: e.writeCap ?? null, ro_uri: e.readCap ?? null, metadata: e.metadata },
    ]),
  );
}

/** The cap an immutable case would have: only its kind matters to unpack. */
const IMMUTABLE_DIR_CAP = "URI:DIR2-LIT:";

describe("dirnodes.json", () => {
  it("has the four cases the spec lists", () => {
    expect(cases.map((c) => c.name)).toEqual([
      "mutable-mixed",
      "mutable-empty",
      "mutable-one-rw-child",
      "immutable",
    ]);
  });

  for (const c of cases) {
    describe(c.name, () => {
      const writekey = c.writekey_b32 === null ? undefined : base32Decode(c.writekey_b32);
      const packed = Buffer.from(c.packed_plaintext_b64, "base64");

      it("packs byte for byte as Tahoe's pack_children", () => {
        const ours = packDirectory(entriesIn(c), writekey, { deepImmutable: c.deep_immutable });
        expect(Buffer.from(ours).toString("base64")).toBe(c.packed_plaintext_b64);
      });

      it("packs each entry, salt, key, ciphertext and MAC as the vector lists them", () => {
        let offset = 0;
        for (const e of c.entries) {
          const entry = Buffer.from(e.entry_b64, "base64");
          const framed = Buffer.concat([Buffer.from(`${entry.length}:`), entry, Buffer.from(",")]);
          expect(packed.subarray(offset, offset + framed.length).equals(framed)).toBe(true);
          offset += framed.length;
          if (writekey !== undefined) {
            const rw = encryptChildWriteCap(writekey, e.rw_plaintext ?? "");
            expect(rw.toString("base64")).toBe(e.rwcapdata_b64);
            expect(rw.subarray(0, 16).toString("base64")).toBe(e.rw_salt_b64);
            expect(rw.subarray(rw.length - 32).toString("base64")).toBe(e.rw_mac_b64);
            const back = decryptChildWriteCap(writekey, Buffer.from(e.rwcapdata_b64, "base64"));
            expect(back).toEqual({ ok: true, writeCap: e.rw_plaintext === "" ? undefined : e.rw_plaintext });
          } else {
            expect(e.rwcapdata_b64).toBe("");
          }
        }
        expect(offset).toBe(packed.length);
      });

      if (c.dircap !== undefined) {
        it("derives the read-only and verify caps", () => {
          const cap = parseDirectoryCap(c.dircap!);
          expect(cap.kind).toBe("DIR2");
          expect(cap.writable).toBe(true);
          expect(Buffer.from(cap.writekey!).equals(Buffer.from(writekey!))).toBe(true);
          expect(readOnlyDirectoryCap(cap)).toBe(c.dircap_ro);
          expect(verifyDirectoryCap(cap)).toBe(c.dircap_verify);
          expect(verifyDirectoryCap(parseDirectoryCap(c.dircap_ro!))).toBe(c.dircap_verify);
        });

        it("is the plaintext of the SDMF file whose ciphertext the vector lists (readkey, SI, datakey)", () => {
          const v = c as DirnodeCase & {
            readkey_b32: string;
            storage_index_b32: string;
            iv_b64: string;
            datakey_b64: string;
            ciphertext_b64: string;
          };
          const readkey = readkeyOf(writekey!);
          expect(base32Encode(readkey)).toBe(v.readkey_b32);
          expect(base32Encode(storageIndexOfReadkey(readkey))).toBe(v.storage_index_b32);
          const datakey = dataKeyOf(Buffer.from(v.iv_b64, "base64"), readkey);
          expect(Buffer.from(datakey).toString("base64")).toBe(v.datakey_b64);
          expect(Buffer.from(aesCtr(datakey, packed)).toString("base64")).toBe(v.ciphertext_b64);
        });

        it("unpacks as the writer and as a read-only holder, exactly as Tahoe did", () => {
          const asWriter = unpackDirectory(packed, c.dircap!);
          expect(asWriter.problems).toEqual([]);
          expect(asTahoeView(asWriter.entries)).toEqual(c.unpacked_as_writer);
          const asReader = unpackDirectory(packed, c.dircap_ro!);
          expect(asReader.problems).toEqual([]);
          expect(asTahoeView(asReader.entries)).toEqual(c.unpacked_as_readonly);
        });

        it("repacks what it unpacked to the same bytes", () => {
          const { entries } = unpackDirectory(packed, c.dircap!);
          expect(Buffer.from(packDirectory(entries, writekey)).equals(packed)).toBe(true);
        });
      } else {
        it("unpacks the immutable directory and repacks it to the same bytes", () => {
          const { entries, problems } = unpackDirectory(packed, IMMUTABLE_DIR_CAP);
          expect(problems).toEqual([]);
          expect(entries.map((e) => e.name).sort()).toEqual(c.children_in.map((x) => x.name_nfc).sort());
          for (const e of entries) expect(e.writeCap).toBeUndefined();
          expect(Buffer.from(packDirectory(entries, undefined, { deepImmutable: true })).equals(packed)).toBe(
            true,
          );
        });
      }
    });
  }
});
