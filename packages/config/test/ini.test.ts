import { describe, expect, it } from "vitest";
import { parseIni } from "../src/ini.js";

const F = "tahoe.cfg";

function entries(text: string) {
  const { sections } = parseIni(text, F);
  return Object.fromEntries(
    sections.map((s) => [s.name, Object.fromEntries(s.entries.map((e) => [e.key, [e.value, e.line]]))]),
  );
}

describe("parseIni: Python configparser semantics", () => {
  it("reads sections, keys, values and line numbers", () => {
    const r = parseIni("[node]\nnickname = alice\nweb.port = tcp:3456\n\n[client]\nshares.needed=3\n", F);
    expect(r.issues).toEqual([]);
    expect(r.sections.map((s) => [s.name, s.line])).toEqual([
      ["node", 1],
      ["client", 5],
    ]);
    expect(entries("[node]\nnickname = alice\nweb.port = tcp:3456\n")).toEqual({
      node: { nickname: ["alice", 2], "web.port": ["tcp:3456", 3] },
    });
  });

  it("lower-cases keys but keeps section names as written", () => {
    const r = parseIni("[Node]\nReveal-IP-Address = False\n", F);
    expect(r.sections[0]!.name).toBe("Node");
    expect(r.sections[0]!.entries[0]).toEqual({
      key: "reveal-ip-address",
      rawKey: "Reveal-IP-Address",
      value: "False",
      line: 2,
    });
  });

  it("splits on the first '=' or ':' and trims", () => {
    expect(entries("[node]\ntub.location:  tcp:example.net:3457  \nx = a=b\ny: c = d\n")).toEqual({
      node: { "tub.location": ["tcp:example.net:3457", 2], x: ["a=b", 3], y: ["c = d", 4] },
    });
  });

  it("accepts a leading BOM and CRLF line ends", () => {
    expect(entries("\uFEFF[node]\r\nnickname = bob\r\n")).toEqual({ node: { nickname: ["bob", 2] } });
    expect(parseIni("\uFEFF[node]\r\nnickname = bob\r\n", F).issues).toEqual([]);
  });

  it("skips full-line comments, keeps inline # in the value with a warning", () => {
    const r = parseIni("# top\n; also\n[node]\n  # indented comment\nnickname = bob # mine\n", F);
    expect(r.sections[0]!.entries[0]!.value).toBe("bob # mine");
    expect(r.issues).toEqual([
      expect.objectContaining({ severity: "warning", line: 5, section: "node", key: "nickname" }),
    ]);
    expect(r.issues[0]!.message).toContain("no inline comments");
  });

  it("joins continuation lines with newlines, across blank lines, dropping trailing blanks", () => {
    const text = "[node]\nnickname = one\n  two\n\n  three\n# note\n    four\n\n\nweb.static = x\n";
    expect(entries(text).node).toEqual({ nickname: ["one\ntwo\n\nthree\nfour", 2], "web.static": ["x", 10] });
  });

  it("does not continue a value across a section header, and an indented key line is a key", () => {
    const r = parseIni("[node]\n  nickname = a\n  tempdir = t\n", F);
    expect(r.issues).toEqual([]);
    expect(r.sections[0]!.entries.map((e) => [e.key, e.value])).toEqual([
      ["nickname", "a"],
      ["tempdir", "t"],
    ]);
  });

  it("refuses a key before any section", () => {
    const r = parseIni("nickname = x\n[node]\n", F);
    expect(r.issues).toEqual([
      expect.objectContaining({
        severity: "error",
        file: F,
        line: 1,
        message: expect.stringContaining("before any [section]"),
      }),
    ]);
  });

  it("refuses lines that are neither key nor header, and empty key names", () => {
    const r = parseIni("[node]\njust words\n= value\n", F);
    expect(r.issues.map((i) => [i.severity, i.line, i.section])).toEqual([
      ["error", 2, "node"],
      ["error", 3, "node"],
    ]);
    expect(r.issues[0]!.message).toContain('"just words" is not "key = value"');
    expect(r.issues[1]!.message).toContain("has no key name");
  });

  it("refuses a malformed header", () => {
    const r = parseIni("[node\nnickname = x\n", F);
    expect(r.issues[0]).toMatchObject({
      severity: "error",
      line: 1,
      message: expect.stringContaining("malformed section header"),
    });
  });

  it("warns on a repeated key (last wins) and merges a repeated section", () => {
    const r = parseIni("[node]\nnickname = a\n[client]\n[node]\nNickname = b\n", F);
    expect(r.sections.map((s) => s.name)).toEqual(["node", "client"]);
    expect(r.sections[0]!.entries).toEqual([{ key: "nickname", rawKey: "Nickname", value: "b", line: 5 }]);
    expect(r.issues.map((i) => [i.severity, i.line])).toEqual([
      ["warning", 4],
      ["warning", 5],
    ]);
    expect(r.issues[1]!.message).toContain("first at line 2");
  });

  it("warns about text after a header and refuses spaces inside brackets", () => {
    const r = parseIni("[node] # main\n[ client ]\n", F);
    expect(r.sections.map((s) => s.name)).toEqual(["node", " client "]);
    expect(r.issues.map((i) => [i.severity, i.line])).toEqual([
      ["warning", 1],
      ["error", 2],
    ]);
  });

  it("refuses bare CRs, NULs and a BOM in the middle, naming the line", () => {
    const r = parseIni("[node]\rnickname = a\n[client]\nx = \u0000\nnickname = \uFEFFb\n", F);
    expect(r.issues.map((i) => [i.line, i.message.slice(0, 31)])).toEqual([
      [1, "line contains a carriage return"],
      [3, "line contains the control chara"],
      [4, "byte order mark (U+FEFF) in the"],
    ]);
    expect(r.issues[1]!.message).toContain("U+0000 at column 5");
  });

  it("refuses a value longer than 64 KiB", () => {
    const r = parseIni(`[node]\nnickname = ${"x".repeat(70_000)}\n`, F);
    expect(r.issues).toEqual([
      expect.objectContaining({
        severity: "error",
        line: 2,
        key: "nickname",
        message: "value is 70000 characters long",
      }),
    ]);
  });

  it("never throws and handles an empty file", () => {
    expect(parseIni("", F)).toEqual({ sections: [], issues: [] });
    expect(parseIni("\n\n", F)).toEqual({ sections: [], issues: [] });
  });
});
