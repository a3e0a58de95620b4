import { describe, expect, it } from "vitest";
import {
  BananaDecoder,
  BananaEncoder,
  bytes,
  DEFAULT_BANANA_LIMITS,
  dict,
  FoolscapError,
  list,
  tuple,
} from "../src/index.js";
import { recordedDirections } from "./transcripts.js";

/** mulberry32: a small seeded PRNG, so every run feeds the same bytes. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The most any decoder fed by `feed` held back: never more than one token's worth. */
let mostBuffered = 0;

/** Feeds `data` in chunks; returns the error it ended with (a FoolscapError) or undefined. */
function feed(data: Uint8Array, chunk: number, decoder = new BananaDecoder()): FoolscapError | undefined {
  for (let at = 0; at < data.length; at += chunk) {
    try {
      decoder.push(data.subarray(at, at + chunk));
    } catch (err) {
      if (!(err instanceof FoolscapError) || err.code !== "TAHOE_ERR_FOOLSCAP_BANANA") throw err;
      return err;
    }
    mostBuffered = Math.max(mostBuffered, decoder.buffered);
  }
  return undefined;
}

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ""), "hex");
// OPEN0 "answer" INT1 ... : a message frame for testing what may go inside it.
const answerOpen = hex("00 88 0d 87 01 81");

function expectFailure(data: Uint8Array, pattern: RegExp, decoder = new BananaDecoder()) {
  const err = feed(data, data.length, decoder);
  expect(err?.message).toMatch(pattern);
  expect(err?.hint).toBeTruthy();
}

describe("banana decoding refuses what it must, with a clear connection error", () => {
  const recorded = recordedDirections();

  it("truncated streams: every prefix of every recording decodes without error, holding back the rest", () => {
    for (const d of recorded) {
      const banana = d.stream.subarray(d.bananaOffset);
      for (let cut = 0; cut < banana.length; cut += 7) {
        const decoder = new BananaDecoder();
        const messages = decoder.push(banana.subarray(0, cut));
        expect(messages.length).toBeLessThanOrEqual(d.messages.length);
        expect(decoder.buffered).toBeLessThanOrEqual(1024);
      }
    }
  });

  it("oversized tokens: a 1 GB STRING, a long header, a big LONGINT, a long ERROR", () => {
    const huge = new BananaEncoder();
    expect(huge.answer(1, bytes("x")).length).toBeGreaterThan(0);
    const decoder = new BananaDecoder();
    // STRING of 2**30 bytes: refused from its header, nothing buffered.
    expectFailure(
      Buffer.concat([answerOpen, hex("00 00 00 00 04 82")]),
      /STRING token of 1073741824 bytes/,
      decoder,
    );
    expect(decoder.buffered).toBe(0);
    expectFailure(Buffer.concat([answerOpen, Buffer.alloc(65, 1), hex("81")]), /header longer than 64 bytes/);
    expectFailure(Buffer.concat([answerOpen, hex("01 08 85")]), /LONGINT token of 1025 bytes/);
    expectFailure(hex("6a 07 8d"), /ERROR token of 1002 bytes/);
    expectFailure(
      Buffer.concat([answerOpen, hex("7f 7f 7f 7f 7f 7f 7f 7f 7f 81")]),
      /token header too large|INT token/,
    );
    expectFailure(Buffer.concat([answerOpen, hex("00 00 00 00 08 81")]), /INT token of 2147483648/);
  });

  it("a 64 KiB STRING sent one byte at a time is joined once, and decodes", () => {
    const body = bytes("z".repeat(DEFAULT_BANANA_LIMITS.maxStringBytes));
    const message = new BananaEncoder().answer(1, body);
    const decoder = new BananaDecoder();
    const got = [];
    for (const byte of message) got.push(...decoder.push(Uint8Array.of(byte)));
    expect(got).toMatchObject([{ type: "answer", reqId: 1, value: body }]);
    expect(decoder.buffered).toBe(0);
  });

  it("limits on sequences and messages", () => {
    const enc = new BananaEncoder();
    const many = enc.answer(1, list(...Array.from({ length: 11 }, (_, i) => i)));
    expectFailure(many, /more than 10 items/, new BananaDecoder({ limits: { maxItems: 10 } }));
    const big = new BananaEncoder().answer(
      1,
      list(...Array.from({ length: 40 }, () => bytes("y".repeat(100)))),
    );
    expectFailure(big, /longer than 2000 bytes/, new BananaDecoder({ limits: { maxMessageBytes: 2000 } }));
    // The same message fits the default limits.
    expect(new BananaDecoder().push(big)).toHaveLength(1);
  });

  it("deep nesting: 100 000 OPENs end at the depth limit", () => {
    const parts: number[] = [...answerOpen];
    for (let i = 1; i < 100_000; i++)
      parts.push(...hex(`${(i & 0x7f).toString(16).padStart(2, "0")} 88 04 87`));
    expectFailure(Uint8Array.from(parts), /nested deeper than 32/);
  });

  it("unknown and unused tokens", () => {
    for (const type of [0x80, 0x84, 0x8a, 0x8b, 0x8c, 0x90, 0xab, 0xff]) {
      expectFailure(Buffer.concat([answerOpen, Uint8Array.of(0, type)]), /type byte|LIST|FLOAT|ABORT/);
    }
    expectFailure(hex("19 87"), /top-level must be OPEN/); // a bare VOCAB
    expectFailure(hex("05 81"), /top-level must be OPEN/);
    expectFailure(
      Buffer.concat([answerOpen, hex("00 88 19 87")]),
      /VOCAB 25 .* not in initial vocab table 1/,
    );
    expectFailure(
      Buffer.concat([answerOpen, hex("00 88 00 87")]),
      /VOCAB 13 .* table 0/,
      new BananaDecoder({ vocabIndex: 0 }),
    );
    expectFailure(hex("00 88 03 87"), /unsupported sequence type 'dict' at top level/);
    expectFailure(hex("00 88 0f 87"), /unsupported sequence type 'my-reference' at top level/);
    expectFailure(
      Buffer.concat([answerOpen, hex("01 88 11 87")]),
      /unsupported sequence type 'their-reference'/,
    );
    expectFailure(Buffer.concat([answerOpen, hex("01 88 13 87")]), /unsupported sequence type 'instance'/);
    expectFailure(
      hex("00 88 10 82 61616161616161616161616161616161"),
      /STRING token of 16 bytes .* at most 15/,
    );
  });

  it("structural mistakes", () => {
    expectFailure(Buffer.concat([answerOpen, hex("01 88 04 87 02 89")]), /lost sync: CLOSE 2 for OPEN 1/);
    expectFailure(hex("00 89"), /CLOSE with no open sequence/);
    expectFailure(Buffer.concat([answerOpen, hex("01 88 05 81")]), /followed by int instead of a type name/);
    expectFailure(
      Buffer.concat([answerOpen, hex("01 88 02 87 07 81 01 89 00 89")]),
      /names no finished list/,
    );
    expectFailure(Buffer.concat([answerOpen, hex("01 88 01 87 02 81 01 89 00 89")]), /INT 0 or 1/);
    expectFailure(Buffer.concat([answerOpen, hex("01 88 08 87 02 82 c328 01 89 00 89")]), /not UTF-8/);
    const dup = new BananaEncoder().answer(
      1,
      dict([
        [bytes("k"), 1],
        [bytes("k"), 2],
      ]),
    );
    expectFailure(dup, /duplicate key/);
    const listKey = new BananaEncoder().answer(1, dict([[list(), 1]]));
    expectFailure(listKey, /list key, which Python cannot hash/);
    expectFailure(hex("00 88 0d 87 01 81 00 89"), /reqID and one value/);
    expectFailure(hex("00 88 0b 87 01 81 00 81 00 89"), /reqID, clid, method name and arguments/);
  });

  it("references to earlier objects of the same message decode to the same object and re-encode", () => {
    const shared = tuple(bytes("a"));
    const message = new BananaEncoder().answer(1, list(shared, shared));
    expect(Buffer.from(message).includes(hex("02 87"))).toBe(true); // VOCAB "reference"
    const [decoded] = new BananaDecoder().push(message);
    if (decoded?.type !== "answer") throw new Error("expected an answer");
    const items = (decoded.value as unknown as { items: unknown[] }).items;
    expect(items[0]).toBe(items[1]);
    expect(Buffer.from(new BananaEncoder().answer(1, decoded.value)).equals(Buffer.from(message))).toBe(true);
  });

  it("random bytes and mutated recordings: a FoolscapError or messages, never anything else (seeded)", () => {
    const random = prng(19);
    const streams = recorded.map((d) => d.stream.subarray(d.bananaOffset));
    let failures = 0;
    for (let run = 0; run < 3000; run++) {
      let data: Uint8Array;
      if (run % 2 === 0) {
        data = Uint8Array.from({ length: 1 + Math.floor(random() * 300) }, () => Math.floor(random() * 256));
      } else {
        data = Buffer.from(streams[run % streams.length]!);
        for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips--) {
          data[Math.floor(random() * data.length)] = Math.floor(random() * 256);
        }
      }
      if (feed(data, 1 + Math.floor(random() * 64))) failures++;
    }
    // Most random input is refused; the decoder answered every run without throwing anything else.
    expect(failures).toBeGreaterThan(1500);
    expect(mostBuffered).toBeLessThanOrEqual(DEFAULT_BANANA_LIMITS.maxStringBytes + 65);
  });

  it("once failed, a decoder refuses further input", () => {
    const decoder = new BananaDecoder();
    expect(() => decoder.push(hex("ff"))).toThrow(FoolscapError);
    expect(() => decoder.push(hex("00 8e"))).toThrow(/invalid type byte 0xff/);
  });
});
