import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tubIdOfCertificate } from "@lafs/crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { COMMANDS } from "../src/commands.js";
import { FIXED_PORT, listTree, makeSandbox, type Sandbox } from "./helpers.js";

const HEADER = `# -*- mode: conf; coding: utf-8 -*-

# This file controls the configuration of the Tahoe node that
# lives in this directory. It is only read at node startup.
# For details about the keys that can be set here, please
# read the 'docs/configuration.rst' file that came with your
# Tahoe installation.


`;

const NODE_TRAILER = `#log_gatherer.furl =
#timeout.keepalive =
#timeout.disconnect =
#ssh.port = 8022
#ssh.authorized_keys_file = ~/.ssh/authorized_keys

`;

/** `tahoe create-node --hostname=example.net DIR` with Tahoe-LAFS 1.20 and a port of 34567. */
const NODE_CFG = `${HEADER}[node]
nickname = 
reveal-IP-address = true
web.port = tcp:3456:interface=127.0.0.1
web.static = public_html
tub.port = tcp:${FIXED_PORT}
tub.location = tcp:example.net:${FIXED_PORT}
control.port = tcp:${FIXED_PORT}:interface=127.0.0.1

${NODE_TRAILER}[client]
helper.furl =

# Encoding parameters this client will use for newly-uploaded files
# This can be changed at any time: the encoding is saved in
# each filecap, and we can download old files with any encoding
# settings
shares.needed = 3
shares.happy = 7
shares.total = 10

[storage]
# Shall this node provide storage service?
enabled = true
#readonly =
reserved_space = 1G
#storage_dir =
#expire.enabled =
#expire.mode =

[helper]
# Shall this node run a helper service that clients can use?
enabled = false

`;

/** `tahoe create-client DIR`. */
const CLIENT_CFG = NODE_CFG.replace(`tub.port = tcp:${FIXED_PORT}`, "tub.port = disabled")
  .replace(`tub.location = tcp:example.net:${FIXED_PORT}`, "tub.location = disabled")
  .replace("enabled = true", "enabled = false");

/** `tahoe create-introducer --hostname=intro.example.net DIR`: only the [node] part, no web port. */
const INTRODUCER_CFG = `${HEADER}[node]
nickname = 
reveal-IP-address = true
web.port = 
web.static = public_html
tub.port = tcp:${FIXED_PORT}
tub.location = tcp:intro.example.net:${FIXED_PORT}
control.port = tcp:${FIXED_PORT}:interface=127.0.0.1

${NODE_TRAILER}`;

/** A valid v3 onion address (public key bytes 0..31, with its SHA3 checksum). */
const ONION = "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyp3kead.onion";

const NURL = `pb://${"a".repeat(42)}A@tcp:intro.example.net:4567/swissnumswissnum#v=1`;

const NODE_FILES = {
  "node.pubkey": "644",
  "private/": "700",
  "private/control.pem": "600",
  "private/control.url": "600",
  "private/convergence": "600",
  "private/node.pem": "600",
  "private/node.privkey": "600",
  "private/secret": "600",
  "tahoe-client.tac": "644",
  "tahoe.cfg": "644",
};
const INTRODUCER_FILES = {
  "private/": "700",
  "private/control.pem": "600",
  "private/control.url": "600",
  "private/introducer.furl": "600",
  "private/introducer.nurl": "600",
  "private/node.pem": "600",
  "tahoe-introducer.tac": "644",
  "tahoe.cfg": "644",
};

let box: Sandbox;
beforeEach(() => {
  box = makeSandbox();
});
afterEach(() => box.cleanup());

interface SuccessCase {
  name: string;
  argv: (box: Sandbox) => string[];
  /** Where the node lands, relative to the sandbox's cwd unless absolute-ish via box. */
  dir: (box: Sandbox) => string;
  cfg: string | ((box: Sandbox) => string);
  files: Record<string, string>;
  reminders?: { introducer: boolean; nickname: boolean };
}

const successes: SuccessCase[] = [
  {
    name: "create-node defaults (with --hostname)",
    argv: () => ["create-node", "--hostname=example.net", "node"],
    dir: (b) => join(b.cwd, "node"),
    cfg: NODE_CFG,
    files: NODE_FILES,
  },
  {
    name: "create-client defaults",
    argv: () => ["create-client", "client"],
    dir: (b) => join(b.cwd, "client"),
    cfg: CLIENT_CFG,
    files: NODE_FILES,
  },
  {
    name: "create-introducer defaults (with --hostname)",
    argv: () => ["create-introducer", "--hostname=intro.example.net", "intro"],
    dir: (b) => join(b.cwd, "intro"),
    cfg: INTRODUCER_CFG,
    files: INTRODUCER_FILES,
  },
  {
    name: "nickname",
    argv: () => ["create-client", "-n", "alice", "c"],
    dir: (b) => join(b.cwd, "c"),
    cfg: CLIENT_CFG.replace("nickname = \n", "nickname = alice\n"),
    files: NODE_FILES,
    reminders: { introducer: true, nickname: false },
  },
  {
    name: "non-ASCII nickname",
    argv: () => ["create-client", "--nickname=Zoë's node", "c"],
    dir: (b) => join(b.cwd, "c"),
    cfg: CLIENT_CFG.replace("nickname = \n", "nickname = Zoë's node\n"),
    files: NODE_FILES,
    reminders: { introducer: true, nickname: false },
  },
  {
    name: "introducer NURL",
    argv: () => ["create-client", `--introducer=${NURL}`, "c"],
    dir: (b) => join(b.cwd, "c"),
    cfg: CLIENT_CFG,
    files: { ...NODE_FILES, "private/introducers.yaml": "600" },
    reminders: { introducer: false, nickname: true },
  },
  {
    name: "webport none",
    argv: () => ["create-client", "--webport=none", "c"],
    dir: (b) => join(b.cwd, "c"),
    cfg: CLIENT_CFG.replace("web.port = tcp:3456:interface=127.0.0.1\n", "web.port = \n"),
    files: NODE_FILES,
  },
  {
    name: "webport NONE (any case)",
    argv: () => ["create-client", "-p", "NONE", "c"],
    dir: (b) => join(b.cwd, "c"),
    cfg: CLIENT_CFG.replace("web.port = tcp:3456:interface=127.0.0.1\n", "web.port = \n"),
    files: NODE_FILES,
  },
  {
    name: "custom webport",
    argv: () => ["create-client", "-ptcp:8080:interface=127.0.0.1", "c"],
    dir: (b) => join(b.cwd, "c"),
    cfg: CLIENT_CFG.replace("web.port = tcp:3456:", "web.port = tcp:8080:"),
    files: NODE_FILES,
  },
  {
    name: "shares",
    argv: () => ["create-client", "--shares-needed=2", "--shares-happy", "3", "--shares-total=4", "c"],
    dir: (b) => join(b.cwd, "c"),
    cfg: CLIENT_CFG.replace(
      "shares.needed = 3\nshares.happy = 7\nshares.total = 10",
      "shares.needed = 2\nshares.happy = 3\nshares.total = 4",
    ),
    files: NODE_FILES,
  },
  {
    name: "shares at the limits",
    argv: () => ["create-client", "--shares-needed=1", "--shares-happy=1", "--shares-total=256", "c"],
    dir: (b) => join(b.cwd, "c"),
    cfg: CLIENT_CFG.replace(
      "shares.needed = 3\nshares.happy = 7\nshares.total = 10",
      "shares.needed = 1\nshares.happy = 1\nshares.total = 256",
    ),
    files: NODE_FILES,
  },
  {
    name: "no-storage",
    argv: () => ["create-node", "--no-storage", "--hostname=example.net", "n"],
    dir: (b) => join(b.cwd, "n"),
    cfg: NODE_CFG.replace("enabled = true", "enabled = false"),
    files: NODE_FILES,
  },
  {
    name: "storage-dir (relative, written absolute)",
    argv: () => ["create-node", "--storage-dir=shares", "--hostname=example.net", "n"],
    dir: (b) => join(b.cwd, "n"),
    cfg: (b) => NODE_CFG.replace("#storage_dir =", `storage_dir = ${join(b.cwd, "shares")}`),
    files: NODE_FILES,
  },
  {
    name: "storage-dir with ~",
    argv: () => ["create-node", "--storage-dir=~/shares", "--hostname=example.net", "n"],
    dir: (b) => join(b.cwd, "n"),
    cfg: (b) => NODE_CFG.replace("#storage_dir =", `storage_dir = ${join(b.home, "shares")}`),
    files: NODE_FILES,
  },
  {
    name: "hostname as an IP address",
    argv: () => ["create-node", "--hostname=192.0.2.7", "n"],
    dir: (b) => join(b.cwd, "n"),
    cfg: NODE_CFG.replace("tub.location = tcp:example.net:", "tub.location = tcp:192.0.2.7:"),
    files: NODE_FILES,
  },
  {
    name: "port + location",
    argv: () => ["create-node", "--port=tcp:1234", "--location=tcp:example.net:1234", "n"],
    dir: (b) => join(b.cwd, "n"),
    cfg: NODE_CFG.replace(`tub.port = tcp:${FIXED_PORT}`, "tub.port = tcp:1234").replace(
      `tub.location = tcp:example.net:${FIXED_PORT}`,
      "tub.location = tcp:example.net:1234",
    ),
    files: NODE_FILES,
  },
  {
    name: "port + location on an introducer",
    argv: () => ["create-introducer", "--port", "tcp:9999", "--location", "tcp:intro.example.net:9999", "i"],
    dir: (b) => join(b.cwd, "i"),
    cfg: INTRODUCER_CFG.replace(`tub.port = tcp:${FIXED_PORT}`, "tub.port = tcp:9999").replace(
      `tub.location = tcp:intro.example.net:${FIXED_PORT}`,
      "tub.location = tcp:intro.example.net:9999",
    ),
    files: INTRODUCER_FILES,
  },
  {
    name: "listen none without storage",
    argv: () => ["create-node", "--listen=none", "--no-storage", "n"],
    dir: (b) => join(b.cwd, "n"),
    cfg: CLIENT_CFG,
    files: NODE_FILES,
  },
  {
    name: "hide-ip on create-client",
    argv: () => ["create-client", "--hide-ip", "c"],
    dir: (b) => join(b.cwd, "c"),
    cfg: CLIENT_CFG.replace("\n\n\n[node]\n", "\n\n\n[connections]\ntcp = tor\n\n[node]\n").replace(
      "reveal-IP-address = true",
      "reveal-IP-address = false",
    ),
    files: NODE_FILES,
  },
  {
    name: "hide-ip + port/location behind an onion",
    argv: () => [
      "create-node",
      "--hide-ip",
      "--port=tcp:3457:interface=127.0.0.1",
      `--location=tor:${ONION}:3457`,
      "n",
    ],
    dir: (b) => join(b.cwd, "n"),
    cfg: NODE_CFG.replace("\n\n\n[node]\n", "\n\n\n[connections]\ntcp = tor\n\n[node]\n")
      .replace("reveal-IP-address = true", "reveal-IP-address = false")
      .replace(`tub.port = tcp:${FIXED_PORT}`, "tub.port = tcp:3457:interface=127.0.0.1")
      .replace(`tub.location = tcp:example.net:${FIXED_PORT}`, `tub.location = tor:${ONION}:3457`),
    files: NODE_FILES,
  },
  {
    name: "global -d",
    argv: () => ["-d", "viad", "create-client"],
    dir: (b) => join(b.cwd, "viad"),
    cfg: CLIENT_CFG,
    files: NODE_FILES,
  },
  {
    name: "global --node-directory=",
    argv: () => ["--node-directory=viad", "create-introducer", "--hostname=intro.example.net"],
    dir: (b) => join(b.cwd, "viad"),
    cfg: INTRODUCER_CFG,
    files: INTRODUCER_FILES,
  },
  {
    name: "-C",
    argv: () => ["create-client", "-C", "viac"],
    dir: (b) => join(b.cwd, "viac"),
    cfg: CLIENT_CFG,
    files: NODE_FILES,
  },
  {
    name: "--basedir= with ~",
    argv: () => ["create-client", "--basedir=~/viac"],
    dir: (b) => join(b.home, "viac"),
    cfg: CLIENT_CFG,
    files: NODE_FILES,
  },
  {
    name: "default ~/.tahoe",
    argv: () => ["create-client"],
    dir: (b) => join(b.home, ".tahoe"),
    cfg: CLIENT_CFG,
    files: NODE_FILES,
  },
  {
    name: "absolute positional, options after it",
    argv: (b) => ["create-client", join(b.root, "abs"), "-n", "late"],
    dir: (b) => join(b.root, "abs"),
    cfg: CLIENT_CFG.replace("nickname = \n", "nickname = late\n"),
    files: NODE_FILES,
    reminders: { introducer: true, nickname: false },
  },
];

describe("create-* success: exact tahoe.cfg, files and modes", () => {
  it.each(successes)("$name", async (c) => {
    const dir = c.dir(box);
    const result = await box.run(c.argv(box));
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const cfg = typeof c.cfg === "function" ? c.cfg(box) : c.cfg;
    expect(readFileSync(join(dir, "tahoe.cfg"), "utf8")).toBe(cfg);
    expect(listTree(dir)).toEqual(c.files);
    const introducer = c.argv(box).includes("create-introducer");
    const reminders = c.reminders ?? { introducer: true, nickname: true };
    const expected = introducer
      ? `Introducer created in '${dir}'\n`
      : `Node created in '${dir}'\n` +
        (reminders.introducer
          ? ` Please add introducers to '${join(dir, "private", "introducers.yaml")}'!\n` +
            " The node cannot connect to a grid without it.\n"
          : "") +
        (reminders.nickname ? ` Please set [node]nickname= in '${join(dir, "tahoe.cfg")}'\n` : "");
    expect(result.stdout).toBe(expected);
  });
});

describe("create-* file contents", () => {
  it("writes node keys, TLS identity and secrets in Tahoe-LAFS's formats", async () => {
    const dir = join(box.cwd, "n");
    expect((await box.run(["create-node", "--hostname=example.net", dir])).code).toBe(0);
    const read = (p: string) => readFileSync(join(dir, p), "utf8");
    expect(read("private/node.privkey")).toMatch(/^priv-v0-[a-z2-7]+\n$/);
    expect(read("node.pubkey")).toMatch(/^pub-v0-[a-z2-7]+\n$/);
    // 32 bytes = 52 base32 characters, for both, as Tahoe-LAFS 1.20 writes them.
    expect(read("private/secret")).toMatch(/^[a-z2-7]{52}\n$/);
    expect(read("private/convergence")).toMatch(/^[a-z2-7]{52}\n$/);
    const pem = read("private/node.pem");
    expect(pem.indexOf("PRIVATE KEY-----")).toBeGreaterThan(-1);
    expect(pem.indexOf("PRIVATE KEY-----")).toBeLessThan(pem.indexOf("BEGIN CERTIFICATE-----"));
    expect(read("tahoe-client.tac")).toContain(
      "Nodes created by Tahoe-LAFS v1.11.0 or later cannot be run by",
    );
    expect(box.allocations).toEqual([{ host: "0.0.0.0" }, { host: "127.0.0.1" }]);
  });

  it("makes fresh secrets and keys for every node", async () => {
    expect((await box.run(["create-client", "a"])).code).toBe(0);
    expect((await box.run(["create-client", "b"])).code).toBe(0);
    for (const file of [
      "private/secret",
      "private/convergence",
      "private/node.privkey",
      "private/node.pem",
    ]) {
      expect(readFileSync(join(box.cwd, "a", file), "utf8")).not.toBe(
        readFileSync(join(box.cwd, "b", file), "utf8"),
      );
    }
  });

  it("create-introducer writes Tahoe's fURL to introducer.furl and the NURL to introducer.nurl, one swissnum", async () => {
    const argv = ["create-introducer", "--port=tcp:9999", "--location=tcp:intro.example.net:9999", "i"];
    expect((await box.run(argv)).code).toBe(0);
    const read = (p: string) => readFileSync(join(box.cwd, "i", "private", p), "utf8");
    const { tubId } = tubIdOfCertificate(read("node.pem"));
    const furl = read("introducer.furl");
    // One line, as Foolscap reads it back (registerReference's furlFile).
    expect(furl).toMatch(new RegExp(`^pb://${tubId}@tcp:intro\\.example\\.net:9999/[a-z2-7]{32}\\n$`));
    const swissnum = furl.trim().split("/").pop();
    expect(read("introducer.nurl")).toMatch(
      new RegExp(`^pb://[A-Za-z0-9_-]{43}@intro\\.example\\.net:9999/${swissnum}#v=1\\n$`),
    );
  });

  it("writes introducers.yaml as Tahoe-LAFS's safe_dump does", async () => {
    expect((await box.run(["create-client", "-i", NURL, "c"])).code).toBe(0);
    expect(readFileSync(join(box.cwd, "c", "private", "introducers.yaml"), "utf8")).toBe(
      `introducers:\n  default:\n    furl: ${NURL}\n`,
    );
  });

  it("accepts an empty existing directory", async () => {
    mkdirSync(join(box.cwd, "empty"));
    expect((await box.run(["create-client", "empty"])).code).toBe(0);
    expect(existsSync(join(box.cwd, "empty", "tahoe.cfg"))).toBe(true);
  });

  it("-q silences the report but not the work", async () => {
    const result = await box.run(["-q", "create-client", "quiet"]);
    expect(result).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(existsSync(join(box.cwd, "quiet", "tahoe.cfg"))).toBe(true);
  });
});

const HELP_HINT = (verb: string) => `Run 'tahoe ${verb} --help' for the options.`;

interface UsageCase {
  argv: string[];
  message: string;
  hint?: string;
}

/** Each of Tahoe-LAFS's usage errors, and ours. The node directory is always `target`. */
const usageErrors: UsageCase[] = [
  {
    argv: ["create-node", "target"],
    message: "--listen=tcp requires --hostname=",
    hint:
      "Give --hostname=NAME (the DNS name or IP address other nodes reach this one at), or --port= with " +
      "--location=, or --listen=none for a node that accepts no connections.",
  },
  { argv: ["create-introducer", "target"], message: "--listen=tcp requires --hostname=" },
  {
    argv: ["create-node", "--listen=tor", "--hostname=x.example", "target"],
    message: "--listen= must be tcp to use --hostname",
  },
  {
    argv: ["create-node", "--location=tcp:example.net:1", "target"],
    message: "--location must be used with --port",
  },
  { argv: ["create-node", "--port=tcp:1", "target"], message: "--port must be used with --location" },
  {
    argv: ["create-node", "--port=tcp:1", "--location=tcp:example.net:1", "--hostname=example.net", "target"],
    message: "--hostname cannot be used with --location/--port",
  },
  {
    argv: ["create-node", "--listen=tcpx", "target"],
    message: "--listen= must be none, or one/some of: tcp, tor, i2p (got 'tcpx')",
    hint: "Use --listen=none alone, or a comma-separated list such as --listen=tcp or --listen=tcp,tor.",
  },
  {
    argv: ["create-node", "--listen=tcp,none", "target"],
    message: "--listen= must be none, or one/some of: tcp, tor, i2p (got 'tcp,none')",
  },
  {
    argv: ["create-node", "--listen=tcp,tcp", "--hostname=a.example", "target"],
    message: "--listen= names tcp twice (got 'tcp,tcp')",
  },
  {
    argv: ["create-node", "--listen=none", "--hostname=a.example", "target"],
    message: "--hostname cannot be used when --listen=none",
  },
  {
    argv: ["create-node", "--listen=none", "target"],
    message: "--listen=none cannot be used with a storage server: no client could reach it",
  },
  {
    argv: ["create-node", "--listen=none", "--port=tcp:1", "--location=tcp:a.example:1", "target"],
    message: "--port/--location cannot be used when --listen=none",
  },
  {
    argv: ["create-node", "--listen=none", "--tor-launch", "target"],
    message: "--tor-launch requires --listen=tor",
  },
  {
    argv: ["create-node", "--listen=none", "--tor-control-port=tcp:127.0.0.1:9051", "target"],
    message: "--tor-control-port= requires --listen=tor",
  },
  {
    argv: ["create-node", "--listen=tor", "--tor-launch", "--tor-control-port=tcp:127.0.0.1:9051", "target"],
    message: "use either --tor-launch or --tor-control-port=, not both",
  },
  {
    argv: ["create-node", "--listen=tor", "--tor-executable=/usr/bin/tor", "target"],
    message: "--tor-executable= is used only with --tor-launch",
  },
  {
    argv: ["create-introducer", "--listen=none", "--i2p-launch", "target"],
    message: "--i2p-launch requires --listen=i2p",
  },
  {
    argv: ["create-introducer", "--listen=none", "--i2p-sam-port=tcp:127.0.0.1:7656", "target"],
    message: "--i2p-sam-port= requires --listen=i2p",
  },
  {
    argv: ["create-node", "--listen=i2p", "--i2p-launch", "--i2p-sam-port=tcp:127.0.0.1:7656", "target"],
    message: "use either --i2p-launch or --i2p-sam-port=, not both",
  },
  {
    argv: ["create-node", "--listen=i2p", "--i2p-launch", "target"],
    message: "--i2p-launch is under development",
  },
  {
    argv: ["create-node", "--hide-ip", "--hostname=example.net", "target"],
    message:
      "--hide-ip cannot be used with --listen=tcp: tub.location would advertise this node's IP address",
    hint: "Use --listen=tor or --listen=i2p to accept connections anonymously, or --listen=none.",
  },
  {
    argv: ["create-node", "--hide-ip", "target"],
    message:
      "--hide-ip cannot be used with --listen=tcp: tub.location would advertise this node's IP address",
  },
  {
    argv: ["create-node", "--hide-ip", "--port=tcp:1", "--location=tcp:example.net:1", "target"],
    message:
      "--hide-ip cannot be used with --location containing the tcp hint 'example.net:1': it would reveal where this node is",
  },
  {
    argv: ["create-node", "--hide-ip", "--port=tcp:1", `--location=tor:${ONION}:1`, "target"],
    message: "--hide-ip requires --port to listen on loopback only (e.g. tcp:PORT:interface=127.0.0.1)",
  },
  {
    argv: ["create-client", "--hide-ip", "--webport=tcp:3456", "target"],
    message:
      "--hide-ip requires --webport to listen on loopback only (e.g. tcp:3456:interface=127.0.0.1) or none",
  },
  {
    argv: ["create-client", "--shares-needed=three", "target"],
    message: "--shares-needed must be an integer (got 'three')",
    hint: "Encoding parameters are whole numbers with 1 <= needed <= happy <= total <= 256.",
  },
  {
    argv: ["create-client", "--shares-happy=7.5", "target"],
    message: "--shares-happy must be an integer (got '7.5')",
  },
  {
    argv: ["create-client", "--shares-total=", "target"],
    message: "--shares-total must be an integer (got '')",
  },
  {
    argv: ["create-client", "--shares-needed=0", "target"],
    message: "--shares-needed must be at least 1 (got 0)",
    hint: "Encoding parameters must satisfy 1 <= needed <= happy <= total <= 256.",
  },
  {
    argv: ["create-client", "--shares-total=257", "--shares-happy=200", "target"],
    message: "--shares-total must be at most 256 (got 257)",
  },
  {
    argv: ["create-client", "--shares-needed=8", "target"],
    message: "--shares-needed (8) must not be more than --shares-happy (7)",
  },
  {
    argv: ["create-client", "--shares-happy=11", "target"],
    message: "--shares-happy (11) must not be more than --shares-total (10)",
  },
  {
    argv: ["-d", "a", "create-client", "-C", "b"],
    message: "The --node-directory (or -d) and --basedir (or -C) options cannot both be used.",
    hint: "Give the directory once.",
  },
  {
    argv: ["-d", "a", "create-client", "b"],
    message: "The --node-directory (or -d) option and a basedir argument cannot both be used.",
  },
  {
    argv: ["create-client", "-C", "a", "b"],
    message: "The --basedir (or -C) option and a basedir argument cannot both be used.",
  },
  {
    argv: ["create-client", "target", "extra"],
    message: "Wrong number of arguments: expected at most one NODEDIR, got 2 ('target', 'extra').",
  },
  {
    argv: ["create-introducer", "--hostname=intro.example.net"],
    message:
      "No default basedir available, you must provide one with --node-directory, --basedir, or a basedir argument",
  },
  {
    argv: ["create-client", "--nickname=two\nlines", "target"],
    message: "--nickname must be a single line of text",
  },
  { argv: ["create-client", "--bogus", "target"], message: "option --bogus not recognized" },
  { argv: ["create-client", "--listen=tcp", "target"], message: "option --listen not recognized" },
  { argv: ["create-client", "--no-storage", "target"], message: "option --no-storage not recognized" },
  { argv: ["create-introducer", "--nickname=x", "target"], message: "option --nickname not recognized" },
  { argv: ["create-client", "target", "-n"], message: "option -n requires a value" },
  {
    argv: ["create-node", "--no-storage=yes", "target"],
    message: "option --no-storage is a flag and takes no value (got '--no-storage=yes')",
  },
  {
    argv: ["create-client", "-d", "target"],
    message: "option -d not recognized",
    hint: "-d is a global option: put it before the command, as in 'tahoe -d DIR create-client ...'.",
  },
  {
    argv: ["create-client", "--version"],
    message: "option --version not recognized",
    hint: "--version is a global option: run 'tahoe --version'.",
  },
  {
    argv: ["create-client", "--webport=tcp:notaport", "target"],
    message: "--webport: endpoint 'tcp:notaport': port 'notaport' is not a number",
  },
  {
    argv: ["create-node", "--port=bogus:1", "--location=tcp:a.example:1", "target"],
    message: "--port: endpoint 'bogus:1': endpoint type 'bogus' is not supported",
  },
  {
    argv: ["create-node", "--hostname=bad host", "target"],
    message: "--hostname 'bad host' is not a DNS name or an IP address",
  },
];

describe("create-* usage errors: exit 2, one error line and a hint, nothing written", () => {
  it.each(usageErrors)("$argv", async (c) => {
    const result = await box.run(c.argv);
    const verb = c.argv.find((a) => a.startsWith("create-"))!;
    expect(result.stdout).toBe("");
    const lines = result.stderr.split("\n");
    expect(lines[0]).toBe(`tahoe ${verb}: error: ${c.message}`);
    if (c.hint !== undefined) expect(lines[1]).toBe(c.hint);
    // The message may span lines only if it quotes the user's own line break.
    expect(result.stderr.endsWith("\n")).toBe(true);
    expect(lines.length).toBe(c.message.split("\n").length + 2);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.code).toBe(2);
    expect(readdirSync(box.cwd)).toEqual([]);
    expect(readdirSync(box.home)).toEqual([]);
  });

  it("uses the default hint when the error has none of its own", async () => {
    const result = await box.run(["create-client", "--bogus"]);
    expect(result.stderr).toBe(
      `tahoe create-client: error: option --bogus not recognized\n${HELP_HINT("create-client")}\n`,
    );
  });

  it("reports an introducer that does not parse", async () => {
    const result = await box.run(["create-client", "--introducer=pb://nonsense", "target"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^tahoe create-client: error: --introducer: .*'pb:\/\/nonsense'/);
    expect(readdirSync(box.cwd)).toEqual([]);
  });

  it("reports an unparsable --location", async () => {
    const result = await box.run(["create-node", "--port=tcp:1", "--location=tcp:a.example:notaport", "t"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^tahoe create-node: error: --location: .*tcp:a\.example:notaport/);
  });
});

describe("global usage errors", () => {
  it.each([
    {
      argv: [],
      stderr: "tahoe: error: must specify a command\nRun 'tahoe --help' for the list of commands.\n",
    },
    {
      argv: ["frobnicate"],
      stderr:
        "tahoe: error: Unknown command: frobnicate\n" +
        `The commands are: ${COMMANDS.map((c) => c.name).join(", ")}. Run 'tahoe --help' for details.\n`,
    },
    {
      argv: ["--bogus", "create-node"],
      stderr:
        "tahoe: error: option --bogus not recognized\nRun 'tahoe --help' for the global options and commands.\n",
    },
    {
      argv: ["-d"],
      stderr: "tahoe: error: option -d requires a value\nGive it as -d=VALUE or -d VALUE.\n",
    },
  ])("$argv", async ({ argv, stderr }) => {
    expect(await box.run(argv)).toEqual({ code: 2, stdout: "", stderr });
  });
});

describe("refusals after parsing: exit 1, message and hint, nothing written", () => {
  it.each([
    {
      argv: ["create-node", "--listen=tor", "--tor-control-port=tcp:127.0.0.1:1", "target"],
      message: "could not reach Tor's control port at tcp:127.0.0.1:1: ECONNREFUSED",
    },
    {
      argv: [
        "create-introducer",
        "--listen=tor",
        "--tor-launch",
        "--tor-executable=/nonexistent/tor",
        "target",
      ],
      message:
        /^could not launch tor \('\/nonexistent\/tor', data directory .*\): the program was not found$/,
    },
    {
      argv: ["create-node", "--listen=i2p", "--i2p-sam-port=tcp:127.0.0.1:1", "target"],
      message: "cannot reach the I2P SAM bridge tcp:127.0.0.1:1: ECONNREFUSED",
    },
  ])(
    "a Tor or I2P router that cannot be used leaves nothing behind ($argv.1 $argv.2)",
    async ({ argv, message }) => {
      const result = await box.run(argv);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      const lines = result.stderr.split("\n");
      // Progress first, then the error naming the endpoint, then its hint.
      const errorLine = lines.findIndex((l) =>
        typeof message === "string" ? l === message : message.test(l),
      );
      expect(errorLine, result.stderr).toBeGreaterThan(0);
      expect(lines[errorLine + 1]).not.toBe("");
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect(readdirSync(box.cwd)).toEqual([]);
    },
  );

  it.each([
    {
      argv: ["create-node", "--port=tcp:0", "--location=tcp:a.example:1", "target"],
      line: /^.*target\/tahoe\.cfg:15: \[node\]tub\.port: .*tcp:0/,
    },
    {
      argv: ["create-client", `--nickname=${"x".repeat(70_000)}`, "target"],
      line: /^.*target\/tahoe\.cfg:11: \[node\]nickname: /,
    },
  ])("refuses options whose tahoe.cfg the node would refuse ($argv.0)", async ({ argv, line }) => {
    const result = await box.run(argv);
    expect(result.code).toBe(1);
    const lines = result.stderr.split("\n");
    expect(lines[0]).toBe("the configuration has 1 problem(s):");
    expect(lines[1]).toMatch(line);
    expect(lines[2]).toBe(
      "These options produce a tahoe.cfg that lafs-ts would refuse at start; nothing was written. Change them and try again.",
    );
    expect(readdirSync(box.cwd)).toEqual([]);
  });

  it("refuses a non-empty directory and leaves it alone", async () => {
    const dir = join(box.cwd, "full");
    mkdirSync(dir);
    writeFileSync(join(dir, "precious.txt"), "keep me");
    const result = await box.run(["create-client", dir]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`'${dir}'`);
    expect(result.stderr).toContain("is not empty");
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(readdirSync(dir)).toEqual(["precious.txt"]);
    expect(readFileSync(join(dir, "precious.txt"), "utf8")).toBe("keep me");
  });

  it("refuses a file where the directory should be", async () => {
    const file = join(box.cwd, "a-file");
    writeFileSync(file, "not a directory");
    const result = await box.run(["create-client", file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(file);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(readFileSync(file, "utf8")).toBe("not a directory");
    expect(readdirSync(box.cwd)).toEqual(["a-file"]);
  });

  it("removes the directory it created when writing fails", async () => {
    // Linux refuses paths of 4096 bytes or more: a BASEDIR of 4080 bytes can be created (and
    // its private/), but the temporary file next to tahoe.cfg cannot, so writing fails after
    // the directory exists. That is a real file-system failure, not a mock.
    let parent = box.cwd;
    while (parent.length < 4080 - 210) parent = join(parent, "p".repeat(200));
    mkdirSync(parent, { recursive: true });
    const dir = join(parent, "n".repeat(4080 - parent.length - 1));
    expect(dir.length).toBe(4080);
    const result = await box.run(["create-client", dir]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    const [message, hint, end] = result.stderr.split("\n");
    expect(message).toMatch(/^could not write '.*': ENAMETOOLONG/);
    expect(hint).toBe(
      "Check the permissions and free space of the target directory; nothing was left behind.",
    );
    expect(end).toBe("");
    expect(readdirSync(parent)).toEqual([]);
  });
});

const torOnPath = (process.env.PATH ?? "").split(":").some((d) => d && existsSync(join(d, "tor")));
if (!torOnPath)
  console.warn(
    "\n!!! SKIPPING create-node --listen=tor tests: 'tor' not on PATH (.ci/run installs it) !!!\n",
  );

/** The [tor] section and tub lines create-node writes for an onion made by a launched tor. */
function onionOf(cfg: string): string {
  const m = /^tub\.location = .*tor:([a-z2-7]{56})\.onion:3457$/m.exec(cfg);
  if (m?.[1] === undefined) throw new Error(`no onion in:\n${cfg}`);
  return m[1];
}

describe.skipIf(!torOnPath)("--listen=tor with a real (offline) tor", () => {
  it("create-node --listen=tor --tor-launch --hide-ip makes the onion service key and writes Tahoe-LAFS's [tor] section", async () => {
    const result = await box.run([
      "create-node",
      "--listen=tor",
      "--tor-launch",
      "--hide-ip",
      "-n",
      "anon",
      "target",
    ]);
    expect(result.code, result.stderr).toBe(0);
    const dir = join(box.cwd, "target");
    const cfg = readFileSync(join(dir, "tahoe.cfg"), "utf8");
    const onion = onionOf(cfg);
    expect(result.stderr).toBe(
      `launching tor (offline, only to make the onion key)...\ncreated onion service ${onion}.onion\n`,
    );
    expect(cfg).toBe(
      NODE_CFG.replace("\n\n\n[node]\n", "\n\n\n[connections]\ntcp = tor\n\n[node]\n")
        .replace("nickname = \n", "nickname = anon\n")
        .replace("reveal-IP-address = true", "reveal-IP-address = false")
        .replace(`tub.port = tcp:${FIXED_PORT}`, `tub.port = tcp:${FIXED_PORT}:interface=127.0.0.1`)
        .replace(`tub.location = tcp:example.net:${FIXED_PORT}`, `tub.location = tor:${onion}.onion:3457`)
        .replace(
          "#ssh.authorized_keys_file = ~/.ssh/authorized_keys\n\n",
          "#ssh.authorized_keys_file = ~/.ssh/authorized_keys\n\n" +
            `[tor]\nlaunch = true\nonion = true\nonion.local_port = ${FIXED_PORT}\nonion.external_port = 3457\n` +
            "onion.private_key_file = private/tor_onion.privkey\n\n",
        ),
    );
    expect(box.allocations).toEqual([{ host: "127.0.0.1" }, { host: "127.0.0.1" }]);
    expect(listTree(dir)).toEqual({ ...NODE_FILES, "private/tor_onion.privkey": "600" });
    expect(readFileSync(join(dir, "private/tor_onion.privkey"), "utf8")).toMatch(
      /^ED25519-V3:[A-Za-z0-9+/]{86}==$/,
    );
  });

  it("create-introducer --listen=tcp,tor lists both endpoints and both hints", async () => {
    const result = await box.run([
      "create-introducer",
      "--listen=tcp,tor",
      "--hostname=intro.example.net",
      "--tor-launch",
      "--tor-executable=tor",
      "target",
    ]);
    expect(result.code, result.stderr).toBe(0);
    const cfg = readFileSync(join(box.cwd, "target", "tahoe.cfg"), "utf8");
    const onion = onionOf(cfg);
    expect(cfg).toContain(
      `tub.port = tcp:${FIXED_PORT},tcp:${FIXED_PORT}:interface=127.0.0.1\n` +
        `tub.location = tcp:intro.example.net:${FIXED_PORT},tor:${onion}.onion:3457\n`,
    );
    expect(cfg).toContain("[tor]\nlaunch = true\ntor.executable = tor\nonion = true\n");
  });
});

describe("--listen=i2p", () => {
  it("asks the SAM bridge for a destination and writes [i2p] and private/i2p_dest.privkey", async () => {
    const { createServer } = await import("node:net");
    // A SAM bridge answering HELLO and DEST GENERATE the way i2pd does (transport's tests use a real i2pd).
    const pub = Buffer.alloc(391, 7).toString("base64").replace(/\+/g, "-").replace(/\//g, "~");
    const priv = `${pub}${Buffer.alloc(64, 9).toString("base64")}`;
    const server = createServer((s) => {
      s.on("data", (d) => {
        for (const line of d.toString().split("\n").filter(Boolean)) {
          if (line.startsWith("HELLO")) s.write("HELLO REPLY RESULT=OK VERSION=3.1\n");
          if (line.startsWith("DEST GENERATE")) s.write(`DEST REPLY PUB=${pub} PRIV=${priv}\n`);
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    try {
      const result = await box.run([
        "create-node",
        "--listen=i2p",
        `--i2p-sam-port=tcp:127.0.0.1:${port}`,
        "target",
      ]);
      expect(result.code, result.stderr).toBe(0);
      const { b32Address } = await import("@lafs/transport");
      const addr = b32Address(pub);
      expect(addr).toMatch(/^[a-z2-7]{52}\.b32\.i2p$/);
      expect(result.stderr).toBe(
        `asking the I2P SAM bridge tcp:127.0.0.1:${port} for a new destination...\ncreated I2P destination ${addr}\n`,
      );
      const dir = join(box.cwd, "target");
      const cfg = readFileSync(join(dir, "tahoe.cfg"), "utf8");
      expect(cfg).toContain(
        `tub.port = tcp:${FIXED_PORT}:interface=127.0.0.1\ntub.location = i2p:${addr}:${FIXED_PORT}\n`,
      );
      expect(cfg).toContain(
        `[i2p]\nsam.port = tcp:127.0.0.1:${port}\ndest = true\ndest.port = ${FIXED_PORT}\n` +
          "dest.private_key_file = private/i2p_dest.privkey\n\n[client]",
      );
      expect(readFileSync(join(dir, "private/i2p_dest.privkey"), "utf8")).toBe(priv);
      expect(listTree(dir)["private/i2p_dest.privkey"]).toBe("600");
    } finally {
      server.close();
    }
  });
});
