import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isTahoeError } from "@lafs/interface";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  assertValidConfig,
  ConfigInvalidError,
  decodeConfigBytes,
  formatIssue,
  loadNodeConfig,
  loadTahoeCfgBytes,
  loadTahoeCfgText,
} from "../src/index.js";

const SERVER_A = `v0-${"a".repeat(52)}`;
const SERVER_B = `v0-${"b".repeat(52)}`;
const NURL = `pb://${"A".repeat(43)}@tcp:alpha.example:3457/swissnum#v=1`;

const HIDDEN = [
  "[node]",
  "reveal-IP-address = false",
  "tub.port = disabled",
  "tub.location = disabled",
  "[connections]",
  "tcp = tor",
  "[storage]",
  "enabled = false",
  "",
].join("\n");

function serversYaml(tcpA: string): string {
  return [
    "storage:",
    `  ${SERVER_A}:`,
    "    ann:",
    "      nickname: alpha",
    "      anonymous-storage-NURLs:",
    `        - ${NURL}`,
    "    connections:",
    `      tcp: ${tcpA}`,
    `  ${SERVER_B}:`,
    "    ann:",
    "      nickname: beta",
    "      anonymous-storage-NURLs:",
    `        - ${NURL}`,
    "",
  ].join("\n");
}

let basedir: string;
beforeEach(async () => {
  basedir = await mkdtemp(join(tmpdir(), "lafs-config-load-"));
  await mkdir(join(basedir, "private"));
});
afterEach(async () => {
  await rm(basedir, { recursive: true, force: true });
});

describe("loadNodeConfig", () => {
  it("reads tahoe.cfg and private/servers.yaml", async () => {
    await writeFile(join(basedir, "tahoe.cfg"), HIDDEN);
    await writeFile(join(basedir, "private", "servers.yaml"), serversYaml("tor"));
    const r = await loadNodeConfig(basedir);
    expect(r.errors).toEqual([]);
    expect(r.config!.node.revealIpAddress).toBe(false);
    expect(r.config!.connections.tcp).toBe("tor");
  });

  it("reports a missing tahoe.cfg as one error naming the file", async () => {
    const r = await loadNodeConfig(basedir);
    expect(r.config).toBeUndefined();
    expect(r.errors).toEqual([
      {
        file: join(basedir, "tahoe.cfg"),
        message: "the file does not exist",
        allowed: expect.stringContaining("tahoe create-node"),
      },
    ]);
  });

  it("reports a tahoe.cfg that is a directory", async () => {
    await mkdir(join(basedir, "tahoe.cfg"));
    const r = await loadNodeConfig(basedir);
    expect(r.errors).toEqual([
      {
        file: join(basedir, "tahoe.cfg"),
        message: "the file is not a regular file",
        allowed: "a readable tahoe.cfg file",
      },
    ]);
  });

  it("applies reveal-IP-address to servers.yaml overrides, naming servers.yaml and its line", async () => {
    await writeFile(join(basedir, "tahoe.cfg"), HIDDEN);
    await writeFile(join(basedir, "private", "servers.yaml"), serversYaml("tcp"));
    const r = await loadNodeConfig(basedir);
    expect(r.config).toBeUndefined();
    expect(r.errors).toEqual([
      {
        file: join(basedir, "private", "servers.yaml"),
        line: 2,
        message: expect.stringContaining(
          `server ${SERVER_A} has connections: {tcp: tcp} but [node]reveal-IP-address (line 2) is false`,
        ),
        allowed: expect.any(String),
      },
    ]);
  });

  it("merges the errors of servers.yaml with those of tahoe.cfg", async () => {
    await writeFile(join(basedir, "tahoe.cfg"), "[node]\nnickname = x\nbogus = 1\n");
    await writeFile(join(basedir, "private", "servers.yaml"), "storage: [1, 2\n");
    const r = await loadNodeConfig(basedir);
    expect(r.errors.map((e) => [e.file, e.line])).toEqual([
      [join(basedir, "tahoe.cfg"), 3],
      [join(basedir, "private", "servers.yaml"), expect.any(Number)],
    ]);
  });

  it("refuses a tahoe.cfg over 1 MiB without reading it", async () => {
    await writeFile(join(basedir, "tahoe.cfg"), Buffer.alloc(1024 * 1024 + 1, 0x23));
    const r = await loadNodeConfig(basedir);
    expect(r.errors).toEqual([expect.objectContaining({ message: "the file is 1048577 bytes long" })]);
  });
});

describe("bytes and encodings", () => {
  it("accepts a UTF-8 BOM and non-ASCII nicknames", () => {
    const bytes = new Uint8Array([
      0xef,
      0xbb,
      0xbf,
      ...new TextEncoder().encode("[node]\nnickname = Zoë 🦊\n"),
    ]);
    const r = loadTahoeCfgBytes(bytes, { file: "t.cfg" });
    expect(r.errors).toEqual([]);
    expect(r.config!.node.nickname).toBe("Zoë 🦊");
  });

  it("names each line that is not UTF-8 and still checks the others", () => {
    const enc = new TextEncoder();
    const bytes = new Uint8Array([
      ...enc.encode("[node]\nnickname = "),
      0xff,
      0xfe,
      ...enc.encode("\nweb.port = nope\n[client]\nshares.needed = "),
      0xc3,
      ...enc.encode("\n"),
    ]);
    const r = loadTahoeCfgBytes(bytes, { file: "t.cfg" });
    expect(r.config).toBeUndefined();
    expect(r.errors.map((e) => [e.line, e.message.slice(0, 26)])).toEqual([
      [2, "the line is not valid UTF-"],
      [3, "endpoint 'nope': has no en"],
      [5, "the line is not valid UTF-"],
    ]);
  });

  it("refuses UTF-16", () => {
    const r = decodeConfigBytes(new Uint8Array([0xff, 0xfe, 0x5b, 0x00]), "t.cfg");
    expect(r.errors).toEqual([
      { file: "t.cfg", line: 1, message: "the file is UTF-16 encoded", allowed: "save it as UTF-8" },
    ]);
  });
});

describe("results and assertValidConfig", () => {
  it("formats issues as file:line: [section]key: message (allowed)", () => {
    const r = loadTahoeCfgText("[client]\nshares.total = many\n", { file: "tahoe.cfg" });
    expect(r.errors.map(formatIssue)).toEqual([
      'tahoe.cfg:2: [client]shares.total: "many" is not a whole number (a whole number from 1 to 256)',
    ]);
  });

  it("returns the config when there are only warnings", () => {
    const r = loadTahoeCfgText("[node]\nnickname = a # b\n", { file: "tahoe.cfg" });
    expect(r.warnings).toHaveLength(1);
    expect(assertValidConfig(r).node.nickname).toBe("a # b");
  });

  it("throws ConfigInvalidError carrying every error", () => {
    const r = loadTahoeCfgText("[node]\nweb.port = x\n[client]\nshares.needed = 0\n", { file: "tahoe.cfg" });
    let thrown: unknown;
    try {
      assertValidConfig(r);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ConfigInvalidError);
    expect(isTahoeError(thrown)).toBe(true);
    const err = thrown as ConfigInvalidError;
    expect(err.code).toBe("TAHOE_ERR_CONFIG_INVALID");
    expect(err.issues).toHaveLength(2);
    expect(err.message).toContain("tahoe.cfg:2: [node]web.port:");
    expect(err.message).toContain("tahoe.cfg:4: [client]shares.needed:");
  });

  it("refuses text over 1 MiB as a whole-file error", () => {
    const r = loadTahoeCfgText(`[node]\nnickname = ${"x".repeat(1024 * 1024)}\n`, { file: "tahoe.cfg" });
    expect(r.errors).toEqual([
      {
        file: "tahoe.cfg",
        message: expect.stringMatching(/^the file is \d+ characters long$/),
        allowed: "at most 1048576",
      },
    ]);
  });
});
