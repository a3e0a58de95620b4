import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import type { Logger } from "@lafs/interface";
import { allocatePort, b32Address, samGenerateDestination } from "@lafs/transport";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNode } from "../src/index.js";
import { makeNodeDir, tempDir } from "./helpers.js";

const hasI2pd = (process.env.PATH ?? "").split(":").some((d) => d && existsSync(join(d, "i2pd")));
if (!hasI2pd)
  console.warn(
    "\n!!! SKIPPING i2p-service tests: 'i2pd' not on PATH (apt-get install i2pd; .ci/run does) !!!\n",
  );

const ZERO_HOP = {
  "inbound.length": "0",
  "outbound.length": "0",
  "inbound.quantity": "1",
  "outbound.quantity": "1",
};

interface Offline {
  samPort: number;
  logFile: string;
  stop(): Promise<void>;
}

/**
 * The offline i2pd of packages/transport/test/real-i2pd.ts (that file is outside this package's
 * tsconfig): private netid, no reseed, no NTP, UPnP/IPv6/SSU2 off, NTCP2 unpublished on
 * 127.0.0.1, SAM only. Debug log, to see what the node asked the bridge.
 */
async function startOfflineI2pd(dir: string): Promise<Offline> {
  const samPort = await allocatePort({ host: "127.0.0.1" });
  const routerPort = await allocatePort({ host: "127.0.0.1" });
  const logFile = join(dir, "i2pd.log");
  const sections: Record<string, string[]> = {
    "": ["log = file", `logfile = ${logFile}`, "loglevel = debug", "daemon = false", "ipv4 = true"],
    ntcp2: ["enabled = true", "published = false", `port = ${routerPort}`],
    ssu2: ["enabled = false"],
    sam: ["enabled = true", "address = 127.0.0.1", `port = ${samPort}`],
    reseed: ["urls =", "yggurls =", "file =", "zipfile =", "threshold = 0"],
    addressbook: ["enabled = true", "defaulturl =", "subscriptions ="],
    nettime: ["enabled = false"],
    upnp: ["enabled = false"],
    meshnets: ["yggdrasil = false"],
  };
  sections[""]!.push(
    "ipv6 = false",
    "host = 127.0.0.1",
    `port = ${routerPort}`,
    "netid = 99",
    "floodfill = false",
  );
  for (const off of ["http", "httpproxy", "socksproxy", "bob", "i2cp", "i2pcontrol"])
    sections[off] = ["enabled = false"];
  const conf = Object.entries(sections)
    .map(([name, lines]) => `${name ? `[${name}]\n` : ""}${lines.join("\n")}\n`)
    .join("");
  await writeFile(join(dir, "i2pd.conf"), conf);
  await writeFile(join(dir, "tunnels.conf"), "");
  const child: ChildProcess = spawn(
    "i2pd",
    [
      `--datadir=${join(dir, "data")}`,
      `--conf=${join(dir, "i2pd.conf")}`,
      `--tunconf=${join(dir, "tunnels.conf")}`,
      `--tunnelsdir=${join(dir, "tunnels.d")}`,
      "--certsdir=/usr/share/i2pd/certificates",
    ],
    { stdio: "ignore" },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // SIGTERM starts i2pd's graceful shutdown, which waits for transit tunnels for minutes.
  const stop = async () => {
    child.kill("SIGKILL");
    await exited;
  };
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect({ host: "127.0.0.1", port: samPort });
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (up) return { samPort, logFile, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`i2pd did not open its SAM port ${samPort} within 10 s`);
}

/** Keeps every (fields, message) the node logs. */
function recordingLogger(into: { fields: Record<string, unknown>; message: string }[]): Logger {
  const make = (bindings: Record<string, unknown>): Logger => {
    const fn = (a: string | Record<string, unknown>, b?: string) =>
      into.push(
        typeof a === "string"
          ? { fields: bindings, message: a }
          : { fields: { ...bindings, ...a }, message: b ?? "" },
      );
    return {
      trace: fn,
      debug: fn,
      info: fn,
      warn: fn,
      error: fn,
      fatal: fn,
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return make({});
}

async function addI2pSection(basedir: string, lines: string[]): Promise<void> {
  const cfg = join(basedir, "tahoe.cfg");
  await writeFile(cfg, `${await readFile(cfg, "utf8")}\n[i2p]\n${lines.join("\n")}\n`);
}

describe.skipIf(!hasI2pd)("tahoe run with [i2p]dest = true, against a real offline i2pd", () => {
  const dir = tempDir();
  let i2pd: Offline | undefined;
  beforeAll(async () => {
    i2pd = await startOfflineI2pd(dir.path);
  }, 20_000);
  afterAll(async () => {
    await i2pd?.stop();
    dir.cleanup();
  });

  it("publishes the saved key, forwarding to the tub port, and removes it at stop", {
    timeout: 60_000,
  }, async () => {
    const samPort = i2pd!.samPort;
    const dest = await samGenerateDestination(
      { host: "127.0.0.1", port: samPort },
      AbortSignal.timeout(10_000),
    );
    const basedir = join(dir.path, "node");
    const { port } = await makeNodeDir(basedir);
    await writeFile(join(basedir, "private", "i2p_dest.privkey"), dest.privateKey, { mode: 0o600 });
    await addI2pSection(basedir, [
      `sam.port = tcp:127.0.0.1:${samPort}`,
      "dest = true",
      `dest.port = ${port}`,
      "dest.private_key_file = private/i2p_dest.privkey",
    ]);
    const logs: { fields: Record<string, unknown>; message: string }[] = [];
    const node = createNode(basedir, {
      logger: recordingLogger(logs),
      i2pService: { sessionOptions: ZERO_HOP },
    });
    await node.start();
    let sessionId: unknown;
    try {
      const published = logs.find((l) => l.message === "I2P destination published");
      expect(published?.fields).toMatchObject({ i2p: b32Address(dest.publicKey), localPort: port });
      sessionId = published?.fields.session;
      // What the bridge was asked: the saved key, and a silent forward to the tub's port.
      const said = await readFile(i2pd!.logFile, "utf8");
      expect(said).toContain(`Session create: STYLE=STREAM ID=${sessionId} DESTINATION=${dest.privateKey}`);
      expect(said).toContain(`Stream forward: ID=${sessionId} PORT=${port} HOST=127.0.0.1 SILENT=true`);
      expect(node.status().storage?.addresses).toContainEqual(expect.objectContaining({ port }));
    } finally {
      await node.stop();
    }
    expect(logs.map((l) => l.message)).toContain("I2P destination removed");
    expect(logs.some((l) => l.message.includes("closed the destination's session"))).toBe(false);
    // i2pd notices the closed forward socket: the acceptor is gone with the node.
    await expect
      .poll(async () => (await readFile(i2pd!.logFile, "utf8")).includes("forward acceptor has been reset"), {
        timeout: 5_000,
      })
      .toBe(true);
  });
});

describe("tahoe run with [i2p]dest = true, without a router", () => {
  const dir = tempDir();
  afterAll(() => dir.cleanup());

  it("fails to start, naming the key file, when the destination key is missing", async () => {
    const basedir = join(dir.path, "node-nokey");
    const { port } = await makeNodeDir(basedir, { storage: ["enabled = false"] });
    await addI2pSection(basedir, [
      "sam.port = tcp:127.0.0.1:1",
      "dest = true",
      `dest.port = ${port}`,
      "dest.private_key_file = private/i2p_dest.privkey",
    ]);
    const error = await createNode(basedir)
      .start()
      .catch((e) => e);
    expect(error.code).toBe("TAHOE_ERR_I2P_DEST_KEY");
    expect(error.message).toContain(join(basedir, "private", "i2p_dest.privkey"));
  });

  it("names the SAM bridge when no router listens there", async () => {
    const basedir = join(dir.path, "node-nosam");
    const { port } = await makeNodeDir(basedir, { storage: ["enabled = false"] });
    const pub = Buffer.concat([Buffer.alloc(384, 1), Buffer.from([5, 0, 4, 0, 7, 0, 0])]);
    const key = Buffer.concat([pub, Buffer.alloc(288, 2)])
      .toString("base64")
      .replace(/\+/g, "-")
      .replace(/\//g, "~");
    await writeFile(join(basedir, "private", "i2p_dest.privkey"), key, { mode: 0o600 });
    const samPort = await allocatePort({ host: "127.0.0.1" });
    await addI2pSection(basedir, [
      `sam.port = tcp:127.0.0.1:${samPort}`,
      "dest = true",
      `dest.port = ${port}`,
      "dest.private_key_file = private/i2p_dest.privkey",
    ]);
    const error = await createNode(basedir)
      .start()
      .catch((e) => e);
    expect(error.code).toBe("TAHOE_ERR_TRANSPORT_SAM_UNAVAILABLE");
    expect(error.message).toContain(`tcp:127.0.0.1:${samPort}`);
  });
});
