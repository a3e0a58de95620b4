import { type ChildProcessWithoutNullStreams, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { promisify } from "node:util";
import { parseNurl, parseServersYaml } from "@lafs/config";
import { spkiHashOfCertificate } from "@lafs/crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { makeSandbox } from "./helpers.js";

// The real binary (bin/tahoe.js -> dist/main.js, and @lafs/node's dist): run `pnpm build` first.
const BIN = join(import.meta.dirname, "..", "bin", "tahoe.js");
const execFileAsync = promisify(execFile);

let root: string;
const children: ChildProcessWithoutNullStreams[] = [];
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "lafs-cli-run-"));
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function createNode(name: string): Promise<{ basedir: string; port: number }> {
  const basedir = join(root, name);
  await execFileAsync(process.execPath, [
    BIN,
    "create-node",
    "--hostname=127.0.0.1",
    "--nickname=run-test",
    // Test files run in parallel: the default web port 3456 would be shared.
    "--webport=none",
    basedir,
  ]);
  const port = Number(/^tub\.port = tcp:(\d+)$/m.exec(readFileSync(join(basedir, "tahoe.cfg"), "utf8"))?.[1]);
  return { basedir, port };
}

interface Running {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function tahoeRun(args: string[]): Running {
  const child = spawn(process.execPath, [BIN, "run", ...args], { stdio: "pipe" });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

/** Resolves with stdout once the ready line is there; rejects if the process exits first. */
async function ready(run: Running): Promise<string> {
  const deadline = Date.now() + 10_000;
  while (!/^node running: .*\n/m.test(run.stdout())) {
    if (run.child.exitCode !== null)
      throw new Error(`tahoe run exited ${run.child.exitCode}: ${run.stderr()}`);
    if (Date.now() > deadline) throw new Error(`no ready line; stderr: ${run.stderr()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return run.stdout();
}

function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** GET /storage/v1/version the way a Tahoe-LAFS client does: no CA, pin checked, swissnum header. */
function versionStatus(nurl: string): Promise<number> {
  const parsed = parseNurl(nurl);
  const hint = parsed.hints[0]!;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: hint.host,
        port: hint.port,
        path: "/storage/v1/version",
        rejectUnauthorized: false,
        agent: false,
        headers: {
          authorization: `Tahoe-LAFS ${Buffer.from(parsed.swissnum).toString("base64")}`,
          accept: "application/cbor",
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("socket", (socket) =>
      (socket as TLSSocket).once("secureConnect", () => {
        if (spkiHashOfCertificate((socket as TLSSocket).getPeerCertificate().raw) !== parsed.spkiHash) {
          req.destroy(new Error("certificate does not match the NURL's pin"));
        }
      }),
    );
    req.on("error", reject);
    req.end();
  });
}

function announcedNurl(basedir: string): string {
  const file = join(basedir, "private", "storage-announcement.yaml");
  const parsed = parseServersYaml(readFileSync(file, "utf8"), file);
  expect(parsed.errors).toEqual([]);
  return parsed.servers[0]!.storageNurls[0]!;
}

describe("tahoe run (real processes)", () => {
  it("serves storage on tub.port, refuses a second run, and stops cleanly on SIGTERM", async () => {
    const { basedir, port } = await createNode("node");
    const first = tahoeRun([basedir]);
    const out = await ready(first);
    expect(out).toMatch(
      new RegExp(
        `^node running: storage server at pb://[A-Za-z0-9_-]{43}@127\\.0\\.0\\.1:${port}/<secret>#v=1\\n`,
      ),
    );
    const nurl = announcedNurl(basedir);
    expect(out).not.toContain(parseNurl(nurl).swissnum);
    expect(await versionStatus(nurl)).toBe(200);
    const pid = readFileSync(join(basedir, "running.process"), "utf8").split(" ")[0];
    expect(pid).toBe(String(first.child.pid));

    const second = tahoeRun([basedir]);
    expect((await second.exit).code).toBe(1);
    expect(second.stderr()).toContain("another node is already running in this directory");
    expect(second.stderr()).toContain(`process ${first.child.pid}`);
    expect(second.stdout()).toBe("");
    expect(await versionStatus(nurl)).toBe(200);

    first.child.kill("SIGTERM");
    expect(await first.exit).toEqual({ code: 0, signal: null });
    expect(first.stdout()).toContain(`node stopped: '${basedir}'\n`);
    expect(first.stderr()).toBe("");
    expect(existsSync(join(basedir, "running.process"))).toBe(false);
    expect(await isListening(port)).toBe(false);
  });

  it("lists every problem of a broken tahoe.cfg with its line, exits 1 and listens nowhere", async () => {
    const { basedir, port } = await createNode("broken");
    const cfgPath = join(basedir, "tahoe.cfg");
    const cfg = readFileSync(cfgPath, "utf8")
      .replace("reserved_space = 1G", "reserved_space = plenty")
      .replace(/^shares\.needed = \d+$/m, "shares.needed = none");
    writeFileSync(cfgPath, `${cfg}\n[nodde]\nnickname = x\n`);
    const lines = readFileSync(cfgPath, "utf8").split("\n");
    const lineOf = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix)) + 1;
    const run = tahoeRun([basedir]);
    expect((await run.exit).code).toBe(1);
    const stderr = run.stderr();
    expect(stderr).toContain(`${cfgPath}:${lineOf("reserved_space")}: [storage]reserved_space:`);
    expect(stderr).toContain(`${cfgPath}:${lineOf("shares.needed")}: [client]shares.needed:`);
    expect(stderr).toContain(
      `${cfgPath}:${lineOf("[nodde]")}: [nodde]: unknown section [nodde]: did you mean [node]?`,
    );
    expect(stderr).toContain("Nothing was started.");
    expect(run.stdout()).toBe("");
    expect(await isListening(port)).toBe(false);
    expect(existsSync(join(basedir, "running.process"))).toBe(false);
  });

  it("stops when its stdin closes, as Tahoe-LAFS's tahoe run does", async () => {
    const { basedir, port } = await createNode("stdin");
    const run = tahoeRun([basedir]);
    await ready(run);
    run.child.stdin.end();
    expect(await run.exit).toEqual({ code: 0, signal: null });
    expect(await isListening(port)).toBe(false);
    expect(existsSync(join(basedir, "running.process"))).toBe(false);
  });
});

describe("tahoe run (in process)", () => {
  it("names a directory without tahoe.cfg and exits 1", async () => {
    const box = makeSandbox();
    try {
      const missing = join(box.root, "nothing");
      const result = await box.run(["run", missing]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`${join(missing, "tahoe.cfg")}: the file does not exist`);
      expect(result.stdout).toBe("");
    } finally {
      box.cleanup();
    }
  });

  it("documents --allow-stdin-close and -C in its help", async () => {
    const box = makeSandbox();
    try {
      const result = await box.run(["run", "--help"]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("--allow-stdin-close");
      expect(result.stdout).toMatch(/-C, --basedir=/);
    } finally {
      box.cleanup();
    }
  });
});
