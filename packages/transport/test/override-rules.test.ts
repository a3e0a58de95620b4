import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ConnectionHint, parseServersYaml } from "@lafs/config";
import { describe, expect, it } from "vitest";
import {
  CONNECTION_RULES_FILE,
  createTransport,
  hintMatches,
  loadOverrideRules,
  overrideRulesPrivacyErrors,
  parseHintPattern,
  parseOverrideRules,
} from "../src/index.js";
import { configOf, onionOf } from "./fakes.js";

const tcp = (host: string, port = 3457): ConnectionHint => ({ kind: "tcp", host, port });
const SERVER_A = `v0-${"a".repeat(52)}`;
const SERVER_B = `v0-${"b".repeat(52)}`;

function pattern(text: string) {
  const p = parseHintPattern(text);
  if (typeof p === "string") throw new Error(p);
  return p;
}

describe("hint patterns", () => {
  it("match names by suffix or exactly, never resolving them", () => {
    expect(hintMatches(pattern("*.example.org"), tcp("a.b.example.org"))).toBe(true);
    expect(hintMatches(pattern("*.example.org"), tcp("example.org"))).toBe(false);
    expect(hintMatches(pattern("Storage.Example.org"), tcp("storage.example.org."))).toBe(true);
    expect(hintMatches(pattern("*.example.org"), tcp("192.0.2.1"))).toBe(false);
  });

  it("match address blocks only against address hints", () => {
    expect(hintMatches(pattern("tcp:10.0.0.0/8"), tcp("10.200.3.4"))).toBe(true);
    expect(hintMatches(pattern("tcp:10.0.0.0/8"), tcp("11.0.0.1"))).toBe(false);
    expect(hintMatches(pattern("tcp:10.0.0.0/8"), tcp("ten.example"))).toBe(false);
    expect(hintMatches(pattern("[2001:db8::]/32"), tcp("2001:db8:1::5"))).toBe(true);
    expect(hintMatches(pattern("[2001:db8::]/32"), tcp("2001:db9::5"))).toBe(false);
    expect(hintMatches(pattern("192.0.2.7"), tcp("192.0.2.7"))).toBe(true);
    expect(hintMatches(pattern("0.0.0.0/0"), tcp("2001:db8::1"))).toBe(false);
  });

  it("filter by kind and port", () => {
    const onion: ConnectionHint = { kind: "tor", host: onionOf(1), port: 80 };
    expect(hintMatches(pattern("tor:*"), onion)).toBe(true);
    expect(hintMatches(pattern("tcp:*"), onion)).toBe(false);
    expect(hintMatches(pattern("*:80"), onion)).toBe(true);
    expect(hintMatches(pattern("*:81"), onion)).toBe(false);
    expect(hintMatches(pattern("*.onion:*"), onion)).toBe(true);
  });

  it("refuse malformed patterns with a message naming them", () => {
    for (const bad of [
      "",
      "a*b.org",
      "10.0.0.0/33",
      "[2001:db8::",
      "[zz]/8",
      "*.example.org:0",
      "a:b:c",
      "ex ample",
    ]) {
      expect(parseHintPattern(bad), bad).toEqual(expect.any(String));
    }
    expect(parseHintPattern("tcp:10.0.0.0/33")).toContain("'tcp:10.0.0.0/33'");
  });
});

describe("the override rules file", () => {
  const text = `# lafs-ts connection rules
server ${SERVER_A} tor     # all of A's tcp hints through Tor
hint   *.lan        tcp
hint tcp:10.0.0.0/8 disabled

hint tor:* tcp
`;

  it("under reveal-IP-address = false, every rule that would connect tcp hints directly is an error with its line", () => {
    const { rules } = parseOverrideRules(text, "connections.rules");
    expect(overrideRulesPrivacyErrors(rules, true)).toEqual([]);
    expect(overrideRulesPrivacyErrors(rules, false)).toEqual([
      expect.objectContaining({
        file: "connections.rules",
        line: 3,
        message:
          "this rule sends matching tcp hints to the tcp handler, but reveal-IP-address = false in tahoe.cfg: a direct connection reveals this node's IP address",
        allowed: "use tor or disabled in this rule, or remove it",
      }),
    ]);
    const server = parseOverrideRules(`server ${SERVER_A} tcp\n`, "r").rules;
    expect(overrideRulesPrivacyErrors(server, false)[0]?.message).toContain(`server ${SERVER_A}'s tcp hints`);
  });

  it("parses each rule with its line, and warns about a rule that cannot act", () => {
    const { rules, errors, warnings } = parseOverrideRules(text, "connections.rules");
    expect(errors).toEqual([]);
    expect(rules.map((r) => [r.line, r.match.kind, r.handler])).toEqual([
      [2, "server", "tor"],
      [3, "hint", "tcp"],
      [4, "hint", "disabled"],
      [6, "hint", "tcp"],
    ]);
    expect(warnings).toEqual([
      expect.objectContaining({ line: 6, message: expect.stringContaining("matches only tor: hints") }),
    ]);
  });

  it("reports every bad line with its number and what is allowed", () => {
    const { rules, errors, warnings } = parseOverrideRules(
      "server v0-short tor\nhint *.lan i2p\npeer x tcp\nhint a*b tcp\nhint *.lan\nhint *.ok tor\n",
      "r",
    );
    expect(errors.map((e) => [e.line, e.message])).toEqual([
      [2, "handler 'i2p' is not tcp, tor or disabled"],
      [3, "'peer' is not 'server' or 'hint'"],
      [4, expect.stringContaining("'a*b'")],
      [5, "'hint *.lan' has 2 fields, not 3"],
    ]);
    expect(errors.every((e) => e.allowed && e.file === "r")).toBe(true);
    expect(warnings).toEqual([
      expect.objectContaining({ line: 1, message: expect.stringContaining("v0-short") }),
    ]);
    expect(rules.map((r) => r.line)).toEqual([1, 6]);
  });

  it("is read from BASEDIR/private/connections.rules; a missing file means no rules", async () => {
    const basedir = await mkdtemp(join(tmpdir(), "rules-"));
    expect(await loadOverrideRules(basedir)).toEqual({ rules: [], errors: [], warnings: [] });
    await mkdir(join(basedir, "private"));
    await writeFile(join(basedir, CONNECTION_RULES_FILE), "hint *.lan tcp\nbad\n");
    const loaded = await loadOverrideRules(basedir);
    expect(loaded.rules).toHaveLength(1);
    expect(loaded.errors[0]).toMatchObject({ file: join(basedir, CONNECTION_RULES_FILE), line: 2 });
    const unreadable = await mkdtemp(join(tmpdir(), "rules-"));
    await mkdir(join(unreadable, CONNECTION_RULES_FILE), { recursive: true });
    expect((await loadOverrideRules(unreadable)).errors).toEqual([
      expect.objectContaining({ message: "cannot read the rules file: EISDIR" }),
    ]);
  });
});

describe("handler precedence", () => {
  const servers = parseServersYaml(
    `storage:
  ${SERVER_A}:
    ann:
      nickname: a
    connections:
      tcp: disabled
`,
    "servers.yaml",
  ).servers;
  const rules = parseOverrideRules(
    `server ${SERVER_A} tcp\nserver ${SERVER_B} disabled\nhint *.lan tcp\nhint tor:*:9999 disabled\n`,
    "connections.rules",
  ).rules;
  const transport = createTransport({
    config: configOf("[connections]\ntcp = tor\n"),
    staticServers: servers,
    serversFile: "servers.yaml",
    rules,
  });

  it("servers.yaml connections: wins over every rule", () => {
    expect(transport.decisionFor(tcp("x.lan"), SERVER_A)).toEqual({
      handler: "disabled",
      setting: expect.stringContaining("servers.yaml line 2"),
      source: "servers.yaml",
    });
  });

  it("then the first matching rule, then [connections]tcp", () => {
    expect(transport.decisionFor(tcp("x.lan"), SERVER_B)).toMatchObject({
      handler: "disabled",
      setting: `connections.rules:2: server ${SERVER_B} disabled`,
    });
    expect(transport.handlerFor(tcp("x.lan"))).toBe("tcp");
    expect(transport.decisionFor(tcp("x.example"))).toEqual({
      handler: "tor",
      setting: "[connections]tcp = tor (tahoe.cfg line 2)",
      source: "tahoe.cfg",
    });
  });

  it("leaves tor: and i2p: hints to their handler unless a rule disables them", () => {
    expect(transport.handlerFor({ kind: "tor", host: onionOf(3), port: 80 }, SERVER_B)).toBe("tor");
    expect(transport.handlerFor({ kind: "tor", host: onionOf(3), port: 9999 })).toBe("disabled");
    expect(transport.handlerFor({ kind: "i2p", host: "peer.i2p" }, SERVER_A)).toBe("i2p");
  });

  it("takes announced data below static rules, and never lets it choose direct TCP over the node's tor", () => {
    const serverC = `v0-${"c".repeat(52)}`;
    transport.setAnnouncedOverrides(serverC, { tcp: "tcp" });
    expect(transport.handlerFor(tcp("x.example"), serverC)).toBe("tor");
    transport.setAnnouncedOverrides(serverC, { tcp: "disabled" });
    expect(transport.decisionFor(tcp("x.example"), serverC)).toMatchObject({
      handler: "disabled",
      source: "announced",
    });
    expect(transport.handlerFor(tcp("x.lan"), serverC)).toBe("tcp");
    transport.setAnnouncedOverrides(serverC, undefined);
    expect(transport.handlerFor(tcp("x.example"), serverC)).toBe("tor");

    const direct = createTransport({ config: configOf("") });
    direct.setAnnouncedOverrides(serverC, { tcp: "tor" });
    expect(direct.decisionFor(tcp("x.example"), serverC)).toMatchObject({
      handler: "tor",
      source: "announced",
    });
  });
});
