import { readFileSync } from "node:fs";
import { join } from "node:path";
import { unpackDirectory } from "@lafs/directory";
import { describe, expect, it } from "vitest";
import { childJson, pythonJson } from "../src/directory-json.js";

/**
 * t=json's metadata against ../shared/vectors/dirnodes.json: each entry's metadata, unpacked by
 * @lafs/directory and written by our t=json, is Tahoe's `json.dumps(metadata, indent=1)`. Laid
 * flat again (newline and indent out, "," back to ", ") it is the metadata text Tahoe packed,
 * byte for byte, so a link time Tahoe wrote as 1.0 is shown as 1.0, never 1.
 */

interface VectorCase {
  name: string;
  packed_plaintext_b64: string;
  dircap?: string;
  entries: { name_utf8_hex: string; metadata_json: string }[];
}

const VECTORS = join(import.meta.dirname, "../../../../shared/vectors/dirnodes.json");
const cases = (JSON.parse(readFileSync(VECTORS, "utf8")) as { cases: VectorCase[] }).cases;

const flat = (indented: string) => indented.replace(/\n */g, "").replaceAll(",", ", ");

describe("t=json metadata is Tahoe's bytes for every dirnodes.json entry", () => {
  for (const c of cases.filter((v) => v.dircap !== undefined && v.entries.length > 0)) {
    it(c.name, () => {
      const { entries } = unpackDirectory(Buffer.from(c.packed_plaintext_b64, "base64"), c.dircap!);
      for (const vector of c.entries) {
        const name = Buffer.from(vector.name_utf8_hex, "hex").toString("utf8");
        const entry = entries.find((e) => e.name === name);
        expect(entry, name).toBeDefined();
        const [, json] = childJson({ ...entry!, kind: entry!.kind });
        expect(flat(pythonJson(json.metadata)), name).toBe(vector.metadata_json);
      }
    });
  }

  it("the vectors hold a whole-number link time (1.0), so the float rule is exercised", () => {
    expect(cases.some((c) => c.entries.some((e) => e.metadata_json.includes('"linkmotime": 1.0')))).toBe(
      true,
    );
  });
});
