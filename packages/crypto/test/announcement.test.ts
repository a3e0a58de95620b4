import { isTahoeError } from "@lafs/interface";
import { describe, expect, it } from "vitest";
import {
  base32Encode,
  generateNodeKey,
  pythonJson,
  signAnnouncement,
  signWithNodeKey,
  verifyAnnouncement,
} from "../src/index.js";

const key = generateNodeKey();
const fields = {
  version: 0,
  nickname: "caf\u00e9 <b>",
  "my-version": "lafs-ts/1",
  "oldest-supported": "1.0",
  "service-name": "storage",
  "anonymous-storage-NURLs": ["pb://x@127.0.0.1:1/s#v=1"],
  seqnum: 7,
  nonce: "n",
};

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isTahoeError(error) ? error.code : `not a TahoeError: ${String(error)}`;
  }
  return undefined;
}

describe("pythonJson", () => {
  it("writes JSON the way Python's json.dumps does", () => {
    expect(pythonJson({ a: [1, "é", null, true], b: { c: "x\ny" } })).toBe(
      '{"a": [1, "\\u00e9", null, true], "b": {"c": "x\\ny"}}',
    );
    expect(JSON.parse(pythonJson(fields))).toEqual(fields);
  });
});

describe("signAnnouncement / verifyAnnouncement", () => {
  it("round-trips in Tahoe-LAFS's signed form", () => {
    const [msg, sig, signer] = signAnnouncement(fields, key.privateKey);
    expect(signer).toBe(key.nodeId);
    expect(sig).toMatch(/^v0-[a-z2-7]{103}$/);
    const ann = verifyAnnouncement([msg, sig, signer]);
    expect(ann).toMatchObject({
      serverId: key.nodeId,
      service: "storage",
      seqnum: 7,
      nonce: "n",
      nickname: "café <b>",
      myVersion: "lafs-ts/1",
      oldestSupported: "1.0",
    });
    expect(ann.fields).toEqual(fields);
  });

  it("refuses a message changed after signing, or signed by another key", () => {
    const [msg, sig, signer] = signAnnouncement(fields, key.privateKey);
    expect(codeOf(() => verifyAnnouncement([msg.replace('"seqnum": 7', '"seqnum": 8'), sig, signer]))).toBe(
      "TAHOE_ERR_ANNOUNCEMENT_BAD_SIGNATURE",
    );
    expect(codeOf(() => verifyAnnouncement([msg, sig, generateNodeKey().nodeId]))).toBe(
      "TAHOE_ERR_ANNOUNCEMENT_BAD_SIGNATURE",
    );
  });

  it("refuses anything that is not the signed form, naming what is wrong", () => {
    const good = signAnnouncement(fields, key.privateKey);
    expect(codeOf(() => verifyAnnouncement("x"))).toBe("TAHOE_ERR_ANNOUNCEMENT_MALFORMED");
    expect(codeOf(() => verifyAnnouncement([good[0], good[1]]))).toBe("TAHOE_ERR_ANNOUNCEMENT_MALFORMED");
    expect(codeOf(() => verifyAnnouncement([good[0], "v0-zz", good[2]]))).toBe(
      "TAHOE_ERR_ANNOUNCEMENT_MALFORMED",
    );
    expect(codeOf(() => verifyAnnouncement([good[0], good[1], "pub-v0-abc"]))).toBe(
      "TAHOE_ERR_ANNOUNCEMENT_MALFORMED",
    );
    const sig64 = `v0-${base32Encode(new Uint8Array(64))}`;
    expect(codeOf(() => verifyAnnouncement([good[0], sig64, good[2]]))).toBe(
      "TAHOE_ERR_ANNOUNCEMENT_BAD_SIGNATURE",
    );
  });

  it("checks the fields every service needs after the signature", () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...fields, seqnum: -1 }, /'seqnum' is -1/],
      [{ ...fields, seqnum: "3" }, /'seqnum' is "3"/],
      [{ ...fields, "service-name": "a b" }, /'service-name' is "a b"/],
      [{ ...fields, nonce: undefined }, /'nonce'/],
      [{ ...fields, nickname: 5 }, /'nickname' is not a string/],
      [{ ...fields, "anonymous-storage-NURLs": "pb://" }, /NURLs' is not a list/],
      [{ ...fields, "permutation-seed-base32": "ABC" }, /not base32/],
    ];
    for (const [bad, message] of cases) {
      expect(() => verifyAnnouncement(signAnnouncement(bad, key.privateKey))).toThrow(message);
    }
    const signedList = (msg: string) =>
      [msg, `v0-${base32Encode(signWithNodeKey(key.privateKey, Buffer.from(msg)))}`, key.nodeId] as const;
    expect(() => verifyAnnouncement(signedList("[1, 2]"))).toThrow(/msg is not a JSON object/);
    expect(() => verifyAnnouncement(signedList("{nope"))).toThrow(/msg is not JSON/);
  });

  it("refuses an announcement over the size limit before checking its signature", () => {
    const big = signAnnouncement({ ...fields, padding: "x".repeat(2000) }, key.privateKey);
    expect(codeOf(() => verifyAnnouncement(big, { maxBytes: 1000 }))).toBe(
      "TAHOE_ERR_ANNOUNCEMENT_TOO_LARGE",
    );
    expect(() => verifyAnnouncement(big, { maxBytes: 1000 })).toThrow(/is \d+ bytes, over the limit of 1000/);
  });
});
