import { describe, expect, it } from "vitest";
import { BananaDecoder, BananaEncoder, type BananaMessage } from "../src/index.js";
import { normaliseRecorded, renderMessage } from "./render.js";
import { recordedDirections } from "./transcripts.js";

/** Re-encodes a decoded message with an encoder that has sent `opens` OPENs before it. */
function reencode(encoder: BananaEncoder, m: BananaMessage): Uint8Array {
  switch (m.type) {
    case "call":
      return encoder.call(m.reqId, m.objId, m.method, m.args, m.kwargs);
    case "answer":
      return encoder.answer(m.reqId, m.value);
    case "error":
      return encoder.error(m.reqId, m.failure);
    case "ping":
      return encoder.ping(m.n);
    case "pong":
      return encoder.pong(m.n);
    case "fatal":
      return encoder.fatalError(m.message);
  }
}

const directions = recordedDirections();

describe("replaying the recorded Tahoe introducer traffic", () => {
  it("has all 16 recorded directions", () => {
    expect(directions).toHaveLength(16);
  });

  for (const d of directions) {
    const name = `${d.scenario} ${d.conn} ${d.dir}`;

    it(`${name}: decodes every message as recorded, in one piece`, () => {
      const banana = d.stream.subarray(d.bananaOffset);
      const decoder = new BananaDecoder({ streamOffset: d.bananaOffset });
      const messages = decoder.push(banana);
      expect(decoder.buffered).toBe(0);
      expect(messages.map((m) => [m.offset, m.length])).toEqual(d.messages.map((m) => [m.offset, m.length]));
      expect(messages.map(renderMessage)).toEqual(d.messages.map((m) => normaliseRecorded(m.value)));
    });

    it(`${name}: decodes the same, one byte at a time`, () => {
      const decoder = new BananaDecoder({ streamOffset: d.bananaOffset });
      const messages: BananaMessage[] = [];
      for (const byte of d.stream.subarray(d.bananaOffset))
        messages.push(...decoder.push(Uint8Array.of(byte)));
      expect(messages.map(renderMessage)).toEqual(d.messages.map((m) => normaliseRecorded(m.value)));
    });

    it(`${name}: re-encodes to the recorded bytes`, () => {
      const decoder = new BananaDecoder({ streamOffset: d.bananaOffset });
      const encoder = new BananaEncoder(1);
      const messages = decoder.push(d.stream.subarray(d.bananaOffset));
      const reencoded = Buffer.concat(messages.map((m) => reencode(encoder, m)));
      expect(reencoded.equals(d.stream.subarray(d.bananaOffset))).toBe(true);
    });
  }
});
