import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_ALIAS as CONFIG_DEFAULT_ALIAS } from "@lafs/config";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_ALIAS, directoryCapForms, gridPathUrl, resolveGridPath } from "../src/aliases.js";
import { makeSandbox, type Sandbox } from "./helpers.js";

// Caps from ../shared/vectors/tahoe-grid-snapshot (written by Tahoe-LAFS 1.20): a pair Tahoe made.
const DIR2 = "URI:DIR2:hcxfasxcqka3nsf6auf43p6t5a:opjsiuw2ony7eaz42dyq2cwbcesceososexyeupg4pdk3gpt22ca";
const DIR2_RO = "URI:DIR2-RO:zrlwb5fdbkijesihbjagsewbh4:opjsiuw2ony7eaz42dyq2cwbcesceososexyeupg4pdk3gpt22ca";
const MDMF = "URI:DIR2-MDMF:l43byqsidupuz4k4kzskysj4hy:fnacy4ixivqrmptbpd5tvybb3uhkha6zxucyj57ovqbiof7dvcqa";
const MDMF_RO =
  "URI:DIR2-MDMF-RO:eiy4irl2ob7oa4fssqhzmj4pam:fnacy4ixivqrmptbpd5tvybb3uhkha6zxucyj57ovqbiof7dvcqa";

let sandbox: Sandbox;
let nodeDir: string;

beforeEach(() => {
  sandbox = makeSandbox();
  nodeDir = join(sandbox.home, ".tahoe");
  mkdirSync(join(nodeDir, "private"), { recursive: true });
});
afterEach(() => sandbox.cleanup());

describe("directory cap forms", () => {
  it("derives the read-only caps Tahoe derived, for SDMF and MDMF directories", () => {
    expect(directoryCapForms(DIR2)).toEqual({ readwrite: DIR2, readonly: DIR2_RO });
    expect(directoryCapForms(MDMF)).toEqual({ readwrite: MDMF, readonly: MDMF_RO });
    expect(directoryCapForms(` ${DIR2_RO}\n`)).toEqual({ readwrite: DIR2_RO, readonly: DIR2_RO });
    expect(directoryCapForms("URI:DIR2-LIT:")).toEqual({
      readwrite: "URI:DIR2-LIT:",
      readonly: "URI:DIR2-LIT:",
    });
  });

  it("refuses file caps and broken directory caps, naming the cap", () => {
    expect(() => directoryCapForms("URI:SSK:aaaa:bbbb")).toThrow(
      /'URI:SSK:aaaa:bbbb' is not a directory cap: unknown prefix/,
    );
    expect(() => directoryCapForms("URI:DIR2:abc:def")).toThrow(
      expect.objectContaining({ code: "TAHOE_ERR_CLI_NOT_A_DIRCAP" }),
    );
  });
});

describe("ALIAS:path", () => {
  const aliases = new Map([
    ["tahoe", DIR2],
    ["work", MDMF],
  ]);

  it("splits alias, cap and default-alias paths as Tahoe's get_alias does", () => {
    expect(resolveGridPath("work:a/b.txt", aliases)).toMatchObject({ rootCap: MDMF, path: "a/b.txt" });
    expect(resolveGridPath("work:", aliases)).toMatchObject({ rootCap: MDMF, path: "" });
    expect(resolveGridPath("docs/x", aliases)).toMatchObject({ rootCap: DIR2, path: "docs/x" });
    // A ':' after a '/' is part of a name under the default alias.
    expect(resolveGridPath("foo/bar:7", aliases)).toMatchObject({ rootCap: DIR2, path: "foo/bar:7" });
    expect(resolveGridPath(`${MDMF_RO}:./sub/f`, aliases)).toMatchObject({ rootCap: MDMF_RO, path: "sub/f" });
    expect(resolveGridPath(`${MDMF_RO}/sub`, aliases)).toMatchObject({ rootCap: MDMF_RO, path: "sub" });
    // tahoe cp: no alias means a local path.
    expect(resolveGridPath("local/file", aliases, null)).toBeUndefined();
  });

  it("names an unknown alias, and a missing default alias, with Tahoe's words", () => {
    expect(() => resolveGridPath("nope:x", aliases)).toThrow(
      "Unknown alias 'nope', please create it with 'tahoe add-alias' or 'tahoe create-alias'.",
    );
    expect(() => resolveGridPath("x", new Map())).toThrow(
      "No alias specified, and the default 'tahoe' alias doesn't exist. To create it, use 'tahoe create-alias tahoe'.",
    );
  });

  it("percent-encodes each name in UTF-8 and keeps '/' between them", () => {
    const url = gridPathUrl({ rootCap: DIR2, path: "dir one/café", typed: "" });
    expect(url).toBe(`uri/${encodeURIComponent(DIR2)}/dir%20one/caf%C3%A9`);
  });
});

describe("add-alias and list-aliases", () => {
  it("writes Tahoe's line format and lists names right-aligned, read-only and as JSON", async () => {
    expect(await sandbox.run(["add-alias", "tahoe:", DIR2])).toMatchObject({
      code: 0,
      stdout: "Alias 'tahoe' added\n",
    });
    expect(await sandbox.run(["add-alias", "wörk", MDMF])).toMatchObject({ code: 0 });
    expect(readFileSync(join(nodeDir, "private", "aliases"), "utf8")).toBe(`tahoe: ${DIR2}\nwörk: ${MDMF}\n`);
    const plain = await sandbox.run(["list-aliases"]);
    expect(plain.stdout).toBe(`  tahoe: ${DIR2}\n   wörk: ${MDMF}\n`);
    const ro = await sandbox.run(["list-aliases", "--readonly-uri"]);
    expect(ro.stdout).toBe(`  tahoe: ${DIR2_RO}\n   wörk: ${MDMF_RO}\n`);
    const json = await sandbox.run(["list-aliases", "--json"]);
    expect(json.stdout).toContain('"w\\u00f6rk": {');
    expect(JSON.parse(json.stdout)).toEqual({
      tahoe: { readwrite: DIR2, readonly: DIR2_RO },
      wörk: { readwrite: MDMF, readonly: MDMF_RO },
    });
  });

  it("reads a hand-edited file: comments, blank lines, no final newline, root_dir.cap", async () => {
    writeFileSync(join(nodeDir, "private", "aliases"), `# mine\n\nwork:   ${MDMF}  `);
    writeFileSync(join(nodeDir, "private", "root_dir.cap"), `${DIR2_RO}\n`);
    expect((await sandbox.run(["list-aliases"])).stdout).toBe(`  tahoe: ${DIR2_RO}\n   work: ${MDMF}\n`);
    expect((await sandbox.run(["add-alias", "b", DIR2])).code).toBe(0);
    expect(readFileSync(join(nodeDir, "private", "aliases"), "utf8")).toBe(
      `# mine\n\nwork:   ${MDMF}  \nb: ${DIR2}\n`,
    );
  });

  it("refuses an existing alias, bad names and non-directory caps, and changes nothing", async () => {
    await sandbox.run(["add-alias", "work", MDMF]);
    const before = readFileSync(join(nodeDir, "private", "aliases"), "utf8");
    const again = await sandbox.run(["add-alias", "work", DIR2]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("Alias 'work' already exists!");
    expect((await sandbox.run(["add-alias", "a:b", DIR2])).stderr).toContain(
      "Alias names cannot contain colons.",
    );
    expect((await sandbox.run(["add-alias", "a b", DIR2])).stderr).toContain(
      "Alias names cannot contain spaces.",
    );
    const notDir = await sandbox.run(["add-alias", "f", "URI:LIT:mfrgg"]);
    expect(notDir).toMatchObject({ code: 1 });
    expect(notDir.stderr).toContain("'URI:LIT:mfrgg' is not a directory cap");
    expect(readFileSync(join(nodeDir, "private", "aliases"), "utf8")).toBe(before);
  });

  it("lists nothing, and prints nothing, without an aliases file", async () => {
    expect(await sandbox.run(["list-aliases"])).toMatchObject({ code: 0, stdout: "" });
    expect((await sandbox.run(["list-aliases", "--json"])).stdout).toBe("{}\n");
  });
});

describe("the default alias", () => {
  it("is @lafs/config's, which the CLI repeats so that --help need not load config", () => {
    expect(DEFAULT_ALIAS).toBe(CONFIG_DEFAULT_ALIAS);
  });
});
