import { describe, expect, it } from "vitest";
import { formatIntroducersYaml, parseIntroducersYaml } from "../src/index.js";
import { errorOf } from "./error-of.js";

const HASH = "JIj6ezHkdSBlHhrnezAgIC_mrVQHy4KAFyL-8ZNPGPM";
const NURL = `pb://${HASH}@introducer.example:5000/swissnumber#v=1`;
const FURL = "pb://v67jiisoty6ooyxlql5fuucitqiok2ic@tcp:introducer.example:44801/introducer";
const FILE = "private/introducers.yaml";

describe("parseIntroducersYaml", () => {
  it("reads Tahoe's format with NURLs and fURLs, with line numbers", () => {
    const text = `introducers:\n  default:\n    furl: ${NURL}\n  old-grid:\n    furl: ${FURL}\n`;
    expect(parseIntroducersYaml(text, FILE)).toEqual({
      introducers: [
        { petname: "default", url: NURL, line: 2 },
        { petname: "old-grid", url: FURL, line: 4 },
      ],
      errors: [],
    });
  });

  it.each(["", "\n# nothing yet\n", "introducers:\n", "introducers: {}\n", "~\n"])(
    "treats %j as no introducers",
    (text) => {
      expect(parseIntroducersYaml(text, FILE)).toEqual({ introducers: [], errors: [] });
    },
  );

  it("keeps petnames as written even where YAML 1.1 reads a boolean", () => {
    const { introducers } = parseIntroducersYaml(`introducers:\n  yes:\n    furl: ${NURL}\n`, FILE);
    expect(introducers.map((i) => i.petname)).toEqual(["yes"]);
  });

  it("reports YAML syntax errors with their line", () => {
    const result = parseIntroducersYaml(`introducers:\n  default:\n    furl: [${NURL}\n  x: 1\n`, FILE);
    expect(result.introducers).toEqual([]);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]!.file).toBe(FILE);
    expect(result.errors[0]!.line).toBeGreaterThanOrEqual(3);
    expect(result.errors[0]!.message).toMatch(/^YAML syntax error: /);
  });

  it("reports duplicate petnames, unknown keys, missing and bad URLs, and keeps the good entries", () => {
    const text = [
      "introducers:",
      "  a:",
      `    furl: ${NURL}`,
      "  a:",
      `    furl: ${FURL}`,
      "  b:",
      `    nurl: ${NURL}`,
      "  c: {}",
      "  d:",
      `    furl: pb://${HASH}@introducer.example:0/s#v=1`,
      "  e:",
      "    furl: 42",
      "  f: just text",
      "  g:",
      `    furl: ${FURL}`,
      "grids: []",
    ].join("\n");
    const result = parseIntroducersYaml(text, FILE);
    expect(result.introducers).toEqual([
      { petname: "a", url: NURL, line: 2 },
      { petname: "g", url: FURL, line: 14 },
    ]);
    expect(result.errors.map((e) => [e.line, e.message])).toEqual([
      [16, "unknown key 'grids' at the top level"],
      [4, "introducer 'a' is defined again (first on line 2)"],
      [7, "introducer 'b' has unknown key 'nurl'"],
      [8, "introducer 'c' has no 'furl'"],
      [
        10,
        `introducer 'd': NURL 'pb://${HASH}@introducer.example:0/<secret>#v=1' has a bad location: connection hint 'introducer.example:0': port 0 is outside 1..65535`,
      ],
      [12, "introducer 'e': furl is not a URL string"],
      [13, "introducer 'f' is not a mapping with 'furl'"],
    ]);
    for (const e of result.errors) expect(e.allowed).toBeTruthy();
  });

  it("refuses a file that is not a mapping", () => {
    const result = parseIntroducersYaml("- a\n- b\n", FILE);
    expect(result.errors.map((e) => [e.line, e.message])).toEqual([[1, "the file is not a mapping"]]);
  });
});

describe("formatIntroducersYaml", () => {
  it("writes exactly what Tahoe-LAFS 1.20 writes", () => {
    expect(formatIntroducersYaml([{ petname: "default", url: NURL }])).toBe(
      `introducers:\n  default:\n    furl: ${NURL}\n`,
    );
  });

  it("round-trips several introducers, quoting petnames YAML 1.1 would misread", () => {
    const list = [
      { petname: "default", url: NURL },
      { petname: "yes", url: FURL },
      { petname: "my grid: east", url: NURL },
    ];
    const text = formatIntroducersYaml(list);
    expect(text).toContain("'yes':");
    const back = parseIntroducersYaml(text, FILE);
    expect(back.errors).toEqual([]);
    expect(back.introducers.map(({ petname, url }) => ({ petname, url }))).toEqual(list);
  });

  it("writes an empty list as an empty mapping", () => {
    expect(formatIntroducersYaml([])).toBe("introducers: {}\n");
    expect(parseIntroducersYaml(formatIntroducersYaml([]), FILE)).toEqual({ introducers: [], errors: [] });
  });

  it("refuses repeated or empty petnames and bad URLs", () => {
    expect(
      errorOf(() =>
        formatIntroducersYaml([
          { petname: "a", url: NURL },
          { petname: "a", url: NURL },
        ]),
      ).message,
    ).toBe("introducer petname 'a' is used twice");
    expect(errorOf(() => formatIntroducersYaml([{ petname: "", url: NURL }])).code).toBe(
      "TAHOE_ERR_CONFIG_INTRODUCER_PETNAME",
    );
    expect(errorOf(() => formatIntroducersYaml([{ petname: "a", url: "https://example.net/" }])).code).toBe(
      "TAHOE_ERR_CONFIG_FURL",
    );
  });
});
