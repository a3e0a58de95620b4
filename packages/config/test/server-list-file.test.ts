import { describe, expect, it } from "vitest";
import { formatServerListFile, isServerId, parseServerListFile } from "../src/index.js";

const A = "v0-4n56snzleh5pbx2mowy7uloqgnqytz2gzcldlupkyablfp4n2nva";
const B = "v0-kvtp3omeqhsmzh77unydssby47juvqp5oaiakzb76e3eh4ldndka";
const C = "v0-xc37fc6366ek5q3cjkja3rtmkwvykelakqchqzv3webbbpsxg5oq";
const FILE = "servers-allowed";

describe("isServerId", () => {
  it.each([
    [A, true],
    [B, true],
    [A.slice(0, -1), false],
    [`${A}a`, false],
    [A.replace("v0-", "v1-"), false],
    [A.toUpperCase(), false],
    // The last character carries 4 padding bits, which must be zero in the canonical encoding.
    [`${A.slice(0, -1)}b`, false],
    ["v67jiisoty6ooyxlql5fuucitqiok2ic", false],
  ])("isServerId(%s) = %s", (id, expected) => {
    expect(isServerId(id)).toBe(expected);
  });
});

describe("parseServerListFile", () => {
  it("reads ids, fields, comments and blank lines with line numbers", () => {
    const text = `# allowed servers\n\n${A} alice\n  ${B}\tbob   the builder  \n#${C}\n${C} # not a comment\n`;
    expect(parseServerListFile(text, FILE)).toEqual({
      entries: [
        { serverId: A, fields: ["alice"], line: 3 },
        { serverId: B, fields: ["bob", "the", "builder"], line: 4 },
        { serverId: C, fields: ["#", "not", "a", "comment"], line: 6 },
      ],
      errors: [],
    });
  });

  it("reads CRLF files and an empty file", () => {
    expect(
      parseServerListFile(`${A} x\r\n${B}\r\n`, FILE).entries.map((e) => [e.serverId, e.fields]),
    ).toEqual([
      [A, ["x"]],
      [B, []],
    ]);
    expect(parseServerListFile("", FILE)).toEqual({ entries: [], errors: [] });
  });

  it("reports bad and repeated ids by line and keeps every valid line", () => {
    const text = `${A} one\nnot-a-server-id nick\n${A} again\n${B} two\n`;
    const result = parseServerListFile(text, FILE);
    expect(result.entries).toEqual([
      { serverId: A, fields: ["one"], line: 1 },
      { serverId: B, fields: ["two"], line: 4 },
    ]);
    expect(result.errors).toEqual([
      {
        file: FILE,
        line: 2,
        message: "'not-a-server-id' is not a server id",
        allowed:
          "a server id is v0- followed by 52 base32 characters (a-z, 2-7): the node's ed25519 public key",
      },
      {
        file: FILE,
        line: 3,
        message: `server id '${A}' is listed again (first on line 1)`,
        allowed: "list each server once; this line is ignored",
      },
    ]);
  });
});

describe("formatServerListFile", () => {
  it("writes a header, one id per line and round-trips", () => {
    const entries = [
      { serverId: A, fields: ["alice"] },
      { serverId: B, fields: [] },
    ];
    const text = formatServerListFile(entries, "servers this node may use\n\nwritten by the control panel");
    expect(text).toBe(`# servers this node may use\n#\n# written by the control panel\n${A} alice\n${B}\n`);
    expect(
      parseServerListFile(text, FILE).entries.map(({ serverId, fields }) => ({ serverId, fields })),
    ).toEqual(entries);
  });

  it("keeps a hostile nickname on its own line", () => {
    const text = formatServerListFile([{ serverId: A, fields: ["evil\nv0-injected", " spaced  out "] }]);
    expect(text).toBe(`${A} evil v0-injected spaced out\n`);
    expect(parseServerListFile(text, FILE).entries).toHaveLength(1);
  });

  it("refuses an invalid id", () => {
    expect(() => formatServerListFile([{ serverId: "v0-short" }])).toThrow("'v0-short' is not a server id");
  });
});
