import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tubIdOfCertificate } from "@lafs/crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../support/free-port.js";
import { findRefPeer, type RefGrid, startRefGrid, stopRef } from "../support/refpeer.js";
import {
  FILES,
  fileOf,
  summary,
  tahoeConnected,
  type WebClient,
  waitForWelcome,
  webClient,
  welcomeServers,
} from "./support.js";

/**
 * Issue 19, 4 and 5(d): Tahoe-LAFS 1.20 node directories, made by its create-introducer,
 * create-node and create-client and run by Tahoe first, then run by lafs-ts's `tahoe run`, one
 * after the other, in a live grid. Each keeps its identity: the introducer its fURL (tub id from
 * Tahoe's RSA node.pem, same swissnum), so the Tahoe storage node still reaches it; the storage
 * node its server id (node.privkey) and storage fURL tub id, so the client finds it under the
 * same id and its shares still serve; the client its convergence secret (32 bytes, as Tahoe
 * writes it), so a file Tahoe uploaded uploads again to the same cap. None of the user's files
 * is rewritten. Then the client goes back to Tahoe, which runs it as before.
 */

const peer = findRefPeer("interop tests (Tahoe-LAFS node directories run by lafs-ts)");
const TAHOE = join(import.meta.dirname, "../../apps/cli/bin/tahoe.js");

/** The files a user's node directory holds that must survive a run by lafs-ts byte for byte. */
const KEPT = [
  "tahoe.cfg",
  "node.pubkey",
  "permutation-seed",
  "private/node.pem",
  "private/node.privkey",
  "private/secret",
  "private/convergence",
  "private/introducers.yaml",
  "private/storage.furl",
  "private/introducer.furl",
];

async function fingerprints(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const file of KEPT) {
    const text = await readFile(join(dir, file)).catch(() => undefined);
    if (text !== undefined) out[file] = createHash("sha256").update(text).digest("hex");
  }
  return out;
}

interface OurNode {
  dir: string;
  output(): string;
  stop(): Promise<void>;
}

/** `tahoe run DIR` of lafs-ts; resolves once the node says it runs. */
async function runOurs(dir: string, running: OurNode[]): Promise<OurNode> {
  const child: ChildProcess = spawn(process.execPath, [TAHOE, "run", "--allow-stdin-close", dir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const node: OurNode = {
    dir,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
  running.push(node);
  await new Promise<void>((resolve, reject) => {
    const record = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("node running")) resolve();
    };
    child.stdout!.on("data", record);
    child.stderr!.on("data", record);
    child.once("exit", (code) => reject(new Error(`lafs-ts on ${dir} exited with ${code}: ${output}`)));
  });
  return node;
}

describe.skipIf(peer === undefined)("Tahoe-LAFS node directories run by lafs-ts", () => {
  const ref = peer!;
  let root: string | undefined;
  let grid: RefGrid | undefined;
  const ours: OurNode[] = [];
  const dirs = { introducer: "", storage1: "", storage2: "", client: "" };
  let tahoeClient: WebClient;
  let before: Record<string, Record<string, string>> = {};
  let serversBefore: Record<string, string> = {};
  const uploaded: { bytes: Buffer; cap: string }[] = [];
  let ourUpload: { bytes: Buffer; cap: string } | undefined;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "lafs-interop-d-"));
    // k = 1 of N = 2 with happy = 2: every file has a share on each server, so the adopted
    // storage node must serve its Tahoe-written share for a download to use it.
    grid = await startRefGrid(ref, join(root, "grid"), { n: 2, k: 1, happy: 2, total: 2 });
    for (const name of Object.keys(dirs) as (keyof typeof dirs)[]) dirs[name] = join(grid.dir, name);
    tahoeClient = webClient("Tahoe client", grid.url);
    for (const [size, salt] of [
      [FILES.small, "d-small"],
      [FILES.multiSegment, "d-multi"],
    ] as const) {
      const bytes = fileOf(size, salt);
      uploaded.push({ bytes, cap: await tahoeClient.put(bytes) });
    }
    const servers = await welcomeServers(grid.url);
    serversBefore = Object.fromEntries(servers.map((s) => [s.nickname, s.nodeid]));
    before = Object.fromEntries(
      await Promise.all(Object.entries(dirs).map(async ([n, d]) => [n, await fingerprints(d)] as const)),
    );
  }, 150_000);

  afterAll(async () => {
    try {
      for (const node of ours.splice(0)) await node.stop();
    } finally {
      try {
        if (root !== undefined) await stopRef(ref, join(root, "grid"));
      } finally {
        if (root !== undefined) await rm(root, { recursive: true, force: true });
      }
    }
  }, 60_000);

  it("Tahoe wrote a 32-byte convergence secret and an RSA tub certificate (what we must honour)", async () => {
    expect((await readFile(join(dirs.client, "private/convergence"), "utf8")).trim()).toMatch(
      /^[a-z2-7]{52}$/,
    );
    const pem = await readFile(join(dirs.introducer, "private/node.pem"), "utf8");
    const furl = (await readFile(join(dirs.introducer, "private/introducer.furl"), "utf8")).trim();
    expect(furl).toMatch(new RegExp(`^pb://${tubIdOfCertificate(pem).tubId}@`));
    expect(createHash("sha256").update(pem).digest("hex")).toBe(before.introducer!["private/node.pem"]);
  });

  it("our node runs Tahoe's introducer directory at the same fURL: the Tahoe storage node reconnects and publishes", async () => {
    await stopRef(ref, dirs.introducer);
    const introducer = await runOurs(dirs.introducer, ours);
    const nurl = (await readFile(join(dirs.introducer, "private/introducer.nurl"), "utf8")).split("\n")[0]!;
    const m = /^pb:\/\/[^@]+@([^/]+)\/([^#]+)#/.exec(nurl)!;
    const { request } = await import("node:https");
    const status = () =>
      new Promise<{ announcements: { nickname: string }[] }>((resolve, reject) => {
        request(`https://${m[1]}/${m[2]}/?t=json`, { rejectUnauthorized: false }, (res) => {
          let body = "";
          res.on("data", (c: Buffer) => {
            body += c.toString();
          });
          res.on("end", () => resolve(JSON.parse(body)));
        })
          .on("error", reject)
          .end();
      });
    const deadline = Date.now() + 45_000;
    let names: string[] = [];
    while (Date.now() < deadline) {
      names = (await status().catch(() => ({ announcements: [] }))).announcements
        .map((a) => a.nickname)
        .sort();
      if (names.length === 2) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(names, introducer.output()).toEqual(["ref-storage1", "ref-storage2"]);
  }, 60_000);

  it("our node runs Tahoe's storage node directory under the same server id and storage fURL tub id", async () => {
    await stopRef(ref, dirs.storage2);
    const node = await runOurs(dirs.storage2, ours);
    const furl = (await readFile(join(dirs.storage2, "private/storage.furl"), "utf8")).trim();
    const pem = await readFile(join(dirs.storage2, "private/node.pem"), "utf8");
    expect(furl.startsWith(`pb://${tubIdOfCertificate(pem).tubId}@`)).toBe(true);
    // The Tahoe client, still running, sees the server come back under its old id.
    await waitForWelcome(
      tahoeClient.url,
      (list) => list.filter(tahoeConnected).length === 2,
      "the Tahoe client connected to both servers again",
      60_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${node.output()}`);
    });
    const ids = Object.fromEntries((await welcomeServers(grid!.url)).map((s) => [s.nickname, s.nodeid]));
    expect(ids).toEqual(serversBefore);
  }, 90_000);

  it("our node runs Tahoe's client directory: same servers, Tahoe's files download, and uploading them again gives the same caps", async () => {
    await stopRef(ref, dirs.client);
    const node = await runOurs(dirs.client, ours);
    const url = (await readFile(join(dirs.client, "node.url"), "utf8")).trim();
    const client = webClient("lafs-ts on Tahoe's client directory", url);
    const servers = await waitForWelcome(
      url,
      (list) => list.filter((s) => s.connection?.state === "connected").length === 2,
      "our node on the client directory connected to both servers",
      60_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${node.output()}`);
    });
    expect(Object.fromEntries(servers.map((s) => [s.nickname, s.nodeid]))).toEqual(serversBefore);
    for (const { bytes, cap } of uploaded) {
      expect(summary(await client.get(cap))).toBe(summary(bytes));
      // Same 32-byte convergence secret, k, N and segment size: Tahoe's convergent key, so dedup.
      expect(await client.put(bytes)).toBe(cap);
    }
    const bytes = fileOf(FILES.multiSegment, "d-by-lafs-ts");
    ourUpload = { bytes, cap: await client.put(bytes) };
  }, 120_000);

  it("none of the user's files was rewritten, and what lafs-ts added sits beside them", async () => {
    for (const [name, dir] of Object.entries(dirs)) {
      const after = await fingerprints(dir);
      const kept = Object.fromEntries(Object.keys(before[name]!).map((file) => [file, after[file]]));
      expect(kept, name).toEqual(before[name]);
    }
    // The introducer's NURL for lafs-ts nodes, with the fURL's swissnum.
    const furl = (await readFile(join(dirs.introducer, "private/introducer.furl"), "utf8")).trim();
    const nurl = (await readFile(join(dirs.introducer, "private/introducer.nurl"), "utf8")).trim();
    expect(nurl.split("/").pop()).toBe(`${furl.split("/").pop()}#v=1`);
  });

  it("our node runs directories fresh from Tahoe's create-introducer, create-node and create-client, making the secrets Tahoe makes at first start", async () => {
    const made = join(root!, "fresh");
    await mkdir(made);
    const create = (args: string[]) =>
      new Promise<void>((resolve, reject) =>
        execFile(ref.cli, args, (error, _out, stderr) => (error ? reject(new Error(stderr)) : resolve())),
      );
    const [p1, p2] = [await freePort(), await freePort()];
    await create([
      "create-introducer",
      `--port=tcp:${p1}:interface=127.0.0.1`,
      `--location=tcp:127.0.0.1:${p1}`,
      join(made, "introducer"),
    ]);
    await create([
      "create-node",
      "--nickname=fresh",
      `--port=tcp:${p2}:interface=127.0.0.1`,
      `--location=tcp:127.0.0.1:${p2}`,
      "--webport=tcp:0:interface=127.0.0.1",
      join(made, "node"),
    ]);
    await create(["create-client", "--webport=tcp:0:interface=127.0.0.1", join(made, "client")]);
    for (const name of ["introducer", "node", "client"]) {
      const dir = join(made, name);
      const cfg = await readFile(join(dir, "tahoe.cfg"), "utf8");
      const node = await runOurs(dir, ours);
      await node.stop();
      expect(await readFile(join(dir, "tahoe.cfg"), "utf8"), name).toBe(cfg);
      if (name !== "introducer") {
        // Tahoe's get_or_create_private_config: base32 of 32 random bytes, made at first start.
        expect(await readFile(join(dir, "private/secret"), "utf8")).toMatch(/^[a-z2-7]{52}\n$/);
        expect(await readFile(join(dir, "private/convergence"), "utf8")).toMatch(/^[a-z2-7]{52}\n$/);
      } else {
        expect(await readFile(join(dir, "private/introducer.furl"), "utf8")).toMatch(
          /^pb:\/\/[a-z2-7]{32}@tcp:127\.0\.0\.1:\d+\/[a-z2-7]{32}\n$/,
        );
      }
    }
  }, 90_000);

  it("moved back, Tahoe runs the client directory again and reads what lafs-ts uploaded", async () => {
    const client = ours.find((n) => n.dir === dirs.client)!;
    await client.stop();
    // start-grid.sh starts only what is not running: Tahoe's client, on our introducer and servers.
    grid = await startRefGrid(ref, grid!.dir, { n: 2, k: 1, happy: 2, total: 2 });
    const tahoe = webClient("Tahoe client, moved back", grid.url);
    for (const { bytes, cap } of [...uploaded, ourUpload!]) {
      expect(summary(await tahoe.get(cap))).toBe(summary(bytes));
    }
    // The same secret as lafs-ts used: Tahoe computes the cap lafs-ts got.
    expect(await tahoe.put(ourUpload!.bytes)).toBe(ourUpload!.cap);
  }, 120_000);
});
