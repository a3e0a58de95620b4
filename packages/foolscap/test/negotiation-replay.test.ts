import { tubIdOfCertificate } from "@lafs/crypto";
import { describe, expect, it } from "vitest";
import { formatBlock, parseBlock } from "../src/blocks.js";
import { vocabTableHash } from "../src/index.js";
import { recordedConnections, recordedDirections, recordedNodes } from "./transcripts.js";

describe("the recorded negotiation", () => {
  const nodes = recordedNodes();
  const connections = recordedConnections();

  it("every recorded certificate hashes to its node's tub id", () => {
    expect(Object.keys(nodes).sort()).toEqual(["client", "introducer", "lowclient", "storage1", "storage2"]);
    for (const node of Object.values(nodes)) {
      expect(tubIdOfCertificate(node.tub_cert_pem).tubId).toBe(node.tub_id);
      expect(tubIdOfCertificate(Buffer.from(node.tub_cert_der_b64, "base64")).tubId).toBe(node.tub_id);
    }
  });

  it("hello and decision blocks parse, and our block writer gives back the same bytes", () => {
    let hellos = 0;
    let decisions = 0;
    for (const d of recordedDirections()) {
      const conn = connections.find((c) => c.scenario === d.scenario && c.conn === d.conn)!;
      const [upgrade, ...blocks] = d.negotiationBlocks;
      expect(d.stream.subarray(0, upgrade!.text.length).toString("latin1")).toBe(upgrade!.text);
      if (d.dir === "c2s")
        expect(upgrade!.text).toBe(
          `GET /id/${conn.serverTubId} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: TLS/1.0\r\nConnection: Upgrade\r\n\r\n`,
        );
      else
        expect(upgrade!.text).toBe(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: TLS/1.0, PB/1.0\r\nConnection: Upgrade\r\n\r\n",
        );
      for (const block of blocks) {
        const fields = parseBlock(block.text);
        expect(formatBlock(Object.fromEntries(fields)).toString("latin1")).toBe(block.text);
        if (fields.has("my-tub-id")) {
          hellos++;
          expect(fields.get("my-tub-id")).toBe(d.dir === "c2s" ? conn.clientTubId : conn.serverTubId);
          expect(fields.get("banana-negotiation-range")).toBe("3 3");
          expect(fields.get("initial-vocab-table-range")).toBe("0 1");
          expect(fields.has("last-connection")).toBe(d.dir === "c2s");
        } else {
          decisions++;
          // The master is the side with the higher tub id, whoever connected.
          const sender = d.dir === "c2s" ? conn.clientTubId : conn.serverTubId;
          const other = d.dir === "c2s" ? conn.serverTubId : conn.clientTubId;
          expect(sender > other).toBe(true);
          expect(fields.get("banana-decision-version")).toBe("3");
          expect(fields.get("initial-vocab-table-index")).toBe(`1 ${vocabTableHash(1)}`);
          expect(fields.get("current-connection")).toMatch(/^[0-9a-f]{16} \d+$/);
        }
      }
      // Banana starts right after the last block.
      const last = d.negotiationBlocks[d.negotiationBlocks.length - 1]!;
      expect(d.bananaOffset).toBe(last.offset + last.text.length);
    }
    expect(hellos).toBe(16);
    expect(decisions).toBe(8);
  });
});
