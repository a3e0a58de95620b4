import { describe, expect, it } from "vitest";
import { formatServersYaml, parseServersYaml, type StaticServer } from "../src/index.js";

const A = "v0-4n56snzleh5pbx2mowy7uloqgnqytz2gzcldlupkyablfp4n2nva";
const B = "v0-kvtp3omeqhsmzh77unydssby47juvqp5oaiakzb76e3eh4ldndka";
const HASH = "JIj6ezHkdSBlHhrnezAgIC_mrVQHy4KAFyL-8ZNPGPM";
const NURL = `pb://${HASH}@storage.example:8443/eqpwqtzm3ikyw6mjlqz5vvnqoj3jtrsq#v=1`;
const NURL2 = `pb://${HASH}@192.0.2.4:8443/eqpwqtzm3ikyw6mjlqz5vvnqoj3jtrsq#v=1`;
const FURL =
  "pb://v67jiisoty6ooyxlql5fuucitqiok2ic@tcp:storage.example:8443/eqpwqtzm3ikyw6mjlqz5vvnqoj3jtrsq";
const SEED = "mzxw6ytboi";
const FILE = "private/servers.yaml";

describe("parseServersYaml", () => {
  it("reads Tahoe's static server definitions", () => {
    const text = [
      "storage:",
      `  ${A}:`,
      "    ann:",
      "      nickname: alice",
      `      anonymous-storage-FURL: ${FURL}`,
      "      anonymous-storage-NURLs:",
      `      - ${NURL}`,
      `      - ${NURL2}`,
      `      permutation-seed-base32: ${SEED}`,
      "      my-version: tahoe-lafs/1.20.0",
      "    connections:",
      "      tcp: tor",
      "",
    ].join("\n");
    const result = parseServersYaml(text, FILE);
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.servers).toEqual([
      {
        serverId: A,
        line: 2,
        nickname: "alice",
        storageFurl: FURL,
        storageNurls: [NURL, NURL2],
        permutationSeedBase32: SEED,
        announcement: {
          nickname: "alice",
          "anonymous-storage-FURL": FURL,
          "anonymous-storage-NURLs": [NURL, NURL2],
          "permutation-seed-base32": SEED,
          "my-version": "tahoe-lafs/1.20.0",
        },
        connections: { tcp: "tor" },
      },
    ]);
  });

  it.each(["", "storage:\n", "storage: {}\n", "# nothing\n"])("treats %j as no servers", (text) => {
    expect(parseServersYaml(text, FILE)).toEqual({ servers: [], errors: [], warnings: [] });
  });

  it("keeps a nickname YAML 1.1 reads as a boolean or number as written", () => {
    const text = `storage:\n  ${A}:\n    ann:\n      nickname: yes\n      anonymous-storage-FURL: ${FURL}\n      anonymous-storage-NURLs: [${NURL}]\n`;
    expect(parseServersYaml(text, FILE).servers[0]!.nickname).toBe("yes");
  });

  it("warns where Tahoe-LAFS would behave differently, and still keeps the server", () => {
    const text = [
      "storage:",
      "  my-server:",
      "    ann:",
      `      anonymous-storage-NURLs: [${NURL}]`,
      "    note: hello",
      "grid: x",
    ].join("\n");
    const result = parseServersYaml(text, FILE);
    expect(result.errors).toEqual([]);
    expect(result.servers.map((s) => s.serverId)).toEqual(["my-server"]);
    expect(result.warnings.map((w) => [w.line, w.message])).toEqual([
      [6, "unknown key 'grid' at the top level is ignored"],
      [2, "server id 'my-server' does not look like a Tahoe-LAFS node id"],
      [5, "server 'my-server': unknown key 'note' is ignored"],
      [
        2,
        "server 'my-server' has no anonymous-storage-FURL: Tahoe-LAFS ignores such an entry, and lease secrets cannot be derived without its tub id",
      ],
    ]);
  });

  it("warns about a server with no NURL", () => {
    const result = parseServersYaml(
      `storage:\n  ${A}:\n    ann:\n      anonymous-storage-FURL: ${FURL}\n`,
      FILE,
    );
    expect(result.servers).toHaveLength(1);
    expect(result.warnings.map((w) => w.message)).toEqual([
      `server '${A}' has no anonymous-storage-NURLs: this node speaks only the HTTP storage protocol and cannot use it`,
    ]);
  });

  it("reports every error with its line and leaves only the bad servers out", () => {
    const text = [
      "storage:", // 1
      `  ${A}:`, // 2
      "    ann:", // 3
      `      anonymous-storage-FURL: ${FURL}`, // 4
      "      anonymous-storage-NURLs:", // 5
      `      - ${NURL}`, // 6
      `      - pb://${HASH}@storage.example:8443/secret`, // 7
      `  ${A}:`, // 8
      "    ann: {}", // 9
      `  ${B}:`, // 10
      "    connections: {tcp: i2p, udp: tcp}", // 11
      "  v0-third:", // 12
      "    ann:", // 13
      "      nickname: [a, b]", // 14
      "      anonymous-storage-FURL: pb://nottubid@x.example:1/s", // 15
      `      anonymous-storage-NURLs: ${NURL}`, // 16
      "      permutation-seed-base32: NOT-BASE32", // 17
      "  v0-fourth: 12", // 18
      "  v0-fifth:", // 19
      `    ann: {anonymous-storage-FURL: ${FURL}, anonymous-storage-NURLs: [${NURL}]}`, // 20
      "    connections: {tcp: disabled}", // 21
    ].join("\n");
    const result = parseServersYaml(text, FILE);
    expect(result.servers.map((s) => [s.serverId, s.connections])).toEqual([
      ["v0-fifth", { tcp: "disabled" }],
    ]);
    expect(result.errors.map((e) => [e.line, e.message])).toEqual([
      [
        7,
        `server '${A}': anonymous-storage-NURLs: NURL 'pb://${HASH}@storage.example:8443/<secret>' does not end in #v=1`,
      ],
      [8, `server '${A}' is defined again (first on line 2)`],
      [10, `server '${B}': the entry has no 'ann' (announcement)`],
      [14, "server 'v0-third': nickname is not a string"],
      [
        15,
        "server 'v0-third': anonymous-storage-FURL: fURL 'pb://nottubid@x.example:1/<secret>' has tub id 'nottubid', which is not 32 base32 characters (a-z, 2-7)",
      ],
      [16, "server 'v0-third': anonymous-storage-NURLs is not a list"],
      [17, "server 'v0-third': permutation-seed-base32 'NOT-BASE32' is not base32"],
      [18, "server 'v0-fourth': the entry is not a mapping with 'ann'"],
    ]);
    for (const e of result.errors) expect(e.file).toBe(FILE);
  });

  it("checks connections overrides", () => {
    const base = `storage:\n  ${A}:\n    ann: {anonymous-storage-FURL: ${FURL}, anonymous-storage-NURLs: [${NURL}]}\n`;
    expect(parseServersYaml(`${base}    connections: {tcp: tcp}\n`, FILE).servers[0]!.connections).toEqual({
      tcp: "tcp",
    });
    const bad = parseServersYaml(`${base}    connections: {tcp: i2p, udp: tcp}\n`, FILE);
    expect(bad.servers).toEqual([]);
    expect(bad.errors.map((e) => [e.line, e.message])).toEqual([
      [4, `server '${A}': connections.tcp 'i2p' is not tcp, tor or disabled`],
      [4, `server '${A}': connections has unknown key 'udp'`],
      [4, `server '${A}': 'connections' does not set 'tcp'`],
    ]);
    expect(parseServersYaml(`${base}    connections: tor\n`, FILE).errors.map((e) => e.message)).toEqual([
      `server '${A}': 'connections' is not a mapping`,
    ]);
  });

  it("reports YAML syntax errors with their line", () => {
    const result = parseServersYaml(`storage:\n  ${A}:\n    ann: {nickname: x\n`, FILE);
    expect(result.servers).toEqual([]);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]!.line).toBeGreaterThanOrEqual(3);
  });
});

describe("formatServersYaml", () => {
  const server: StaticServer = {
    serverId: A,
    nickname: "no",
    storageFurl: FURL,
    storageNurls: [NURL],
    permutationSeedBase32: SEED,
    announcement: { "my-version": "tahoe-lafs/1.20.0", nickname: "stale", "available-space": 1024 },
    connections: { tcp: "tor" },
  };

  it("writes Tahoe's layout, typed fields first, and reads back", () => {
    const text = formatServersYaml([server]);
    expect(text).toBe(
      [
        "storage:",
        `  ${A}:`,
        "    ann:",
        "      nickname: 'no'",
        `      anonymous-storage-FURL: ${FURL}`,
        "      anonymous-storage-NURLs:",
        `      - ${NURL}`,
        `      permutation-seed-base32: ${SEED}`,
        "      my-version: tahoe-lafs/1.20.0",
        "      available-space: 1024",
        "    connections:",
        "      tcp: tor",
        "",
      ].join("\n"),
    );
    const back = parseServersYaml(text, FILE);
    expect(back.errors).toEqual([]);
    expect(back.warnings).toEqual([]);
    const { line: _line, ...rest } = back.servers[0]!;
    expect(rest).toEqual({
      ...server,
      announcement: {
        nickname: "no",
        "anonymous-storage-FURL": FURL,
        "anonymous-storage-NURLs": [NURL],
        "permutation-seed-base32": SEED,
        "my-version": "tahoe-lafs/1.20.0",
        "available-space": 1024,
      },
    });
    expect(formatServersYaml(back.servers)).toBe(text);
  });

  it("writes no servers as an empty mapping", () => {
    expect(formatServersYaml([])).toBe("storage: {}\n");
  });

  it("refuses what it could not read back", () => {
    expect(() => formatServersYaml([{ ...server, storageNurls: ["pb://x@y:1/s#v=1"] }])).toThrow(/NURL/);
    expect(() => formatServersYaml([{ ...server, storageFurl: "pb://x@y:1/s" }])).toThrow(/fURL/);
    expect(() => formatServersYaml([{ ...server, permutationSeedBase32: "A" }])).toThrow(
      /permutation-seed-base32/,
    );
    expect(() => formatServersYaml([server, server])).toThrow(`server '${A}' is given twice`);
  });
});
