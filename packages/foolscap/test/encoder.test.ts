import { describe, expect, it } from "vitest";
import {
  BananaDecoder,
  BananaEncoder,
  type BananaValue,
  bytes,
  dict,
  INITIAL_VOCAB_TABLES,
  list,
  set,
  tuple,
  vocabTableHash,
} from "../src/index.js";

const hex = (data: Uint8Array) => Buffer.from(data).toString("hex").replace(/(..)/g, "$1 ").trim();

describe("banana encoding", () => {
  it("writes the spec's worked examples byte for byte", () => {
    const enc = new BananaEncoder(1);
    // getReferenceByName(name=swissnum), the first message of every connection (spec §6.1).
    const first = enc.call(
      1,
      0,
      "getReferenceByName",
      [],
      [["name", bytes("yhhffl5qj3hwei2qnf6rtwqvrmkou2rr")]],
    );
    expect(first).toHaveLength(78);
    expect(hex(first.subarray(0, 9))).toBe("00 88 0b 87 01 81 00 81 12");
    expect(hex(first.subarray(-4))).toBe("01 89 00 89");
    expect(hex(enc.ping())).toBe("8e");
    expect(hex(enc.pong(5))).toBe("05 8f");
  });

  it("uses INT, NEG, LONGINT and LONGNEG at foolscap's boundaries, and b128 headers", () => {
    const ints = (v: number | bigint) => hex(new BananaEncoder().answer(0, v)).slice(18, -6);
    expect(ints(0)).toBe("00 81");
    expect(ints(608)).toBe("60 04 81");
    expect(ints(2 ** 31 - 1)).toBe("7f 7f 7f 7f 07 81");
    expect(ints(2 ** 31)).toBe("04 85 80 00 00 00");
    expect(ints(-1)).toBe("01 83");
    expect(ints(-(2 ** 31))).toBe("00 00 00 00 08 83");
    expect(ints(-(2n ** 31n) - 1n)).toBe("04 86 80 00 00 01");
  });

  it("turns every vocab word into VOCAB, dict keys included", () => {
    const message = new BananaEncoder(1).answer(0, dict([[bytes("set"), bytes("list")]]));
    expect(hex(message)).toBe("00 88 0d 87 00 81 01 88 03 87 06 87 04 87 01 89 00 89");
    // Table 0 has no words: the same value goes as STRINGs.
    expect(hex(new BananaEncoder(0).answer(0, bytes("set")))).toBe(
      "00 88 06 82 61 6e 73 77 65 72 00 81 03 82 73 65 74 00 89",
    );
  });

  it("knows the vocab tables' hashes (bb33 for table 1, da39 for the empty one)", () => {
    expect(INITIAL_VOCAB_TABLES[1]).toHaveLength(25);
    expect(vocabTableHash(1)).toBe("bb33");
    expect(vocabTableHash(0)).toBe("da39");
  });

  it("round-trips every kind of value, keeping bytes and unicode apart", () => {
    const value: BananaValue = tuple(
      bytes("raw"),
      "text ünïcode",
      null,
      true,
      false,
      -7,
      12345678901234567890n,
      list(set(bytes("a")), dict([[bytes("k"), "v"]])),
      { kind: "my-reference", clid: 3, interfaceName: "RIFoo", url: "pb://x@y/z" },
      { kind: "my-reference", clid: 3 },
      { kind: "your-reference", clid: 2 },
      {
        kind: "copyable",
        className: "twisted.python.failure.Failure",
        state: [[bytes("value"), bytes("v")]],
      },
    );
    const enc = new BananaEncoder();
    const dec = new BananaDecoder();
    for (let i = 0; i < 3; i++) {
      const data = enc.answer(i + 1, value);
      const [message] = dec.push(data);
      expect(message).toMatchObject({ type: "answer", reqId: i + 1, value });
    }
  });
});
