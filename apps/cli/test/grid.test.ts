import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeSandbox } from "./helpers.js";

// The real binary (bin/tahoe.js -> dist/main.js, and @lafs/node's dist): run `pnpm build` first.
const BIN = join(import.meta.dirname, "..", "bin", "tahoe.js");

let root: string;
const children: ChildProcessWithoutNullStreams[] = [];
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "lafs-cli-grid-"));
});
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, check: () => boolean, output: () => string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output so far:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface ServerListFile {
  servers: { nickname: string; connection: { state: string } }[];
}

function connectedServers(clientDir: string): string[] {
  try {
    const list = JSON.parse(
      readFileSync(join(clientDir, "private", "server-list.json"), "utf8"),
    ) as ServerListFile;
    return list.servers
      .filter((s) => s.connection.state === "connected")
      .map((s) => s.nickname)
      .sort();
  } catch {
    // Not written yet (or caught between write and rename on a slow disk): not connected yet.
    return [];
  }
}

describe("tahoe grid up (real processes)", () => {
  it("creates and runs an introducer, 2 storage nodes and a client; Ctrl-C stops every one", async () => {
    const dir = join(root, "grid");
    const child = spawn(process.execPath, [BIN, "grid", "up", dir, "--servers", "2"], { stdio: "pipe" });
    children.push(child);
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

    await waitFor(
      "the ready summary",
      () => out.includes("Press Ctrl-C to stop the grid."),
      () => out,
    );
    expect(out).toContain(`grid created in '${dir}': introducer, storage1, storage2, client`);
    expect(out).toMatch(/client web: {2}http:\/\/127\.0\.0\.1:\d+\//);
    const cfg = readFileSync(join(dir, "client", "tahoe.cfg"), "utf8");
    expect(cfg).toMatch(/^shares\.needed = 2$/m);
    expect(cfg).toMatch(/^shares\.happy = 2$/m);
    expect(cfg).toMatch(/^shares\.total = 5$/m);

    await waitFor(
      "2 connected servers in the client's server-list.json",
      () => connectedServers(join(dir, "client")).length === 2,
      () => out,
    );
    expect(connectedServers(join(dir, "client"))).toEqual(["storage1", "storage2"]);

    const nodes = ["introducer", "storage1", "storage2", "client"].map((n) => join(dir, n));
    const pids = nodes.map((basedir) =>
      Number(readFileSync(join(basedir, "running.process"), "utf8").split(" ")[0]),
    );
    for (const pid of pids) expect(isAlive(pid)).toBe(true);

    child.kill("SIGINT");
    expect(await exit).toBe(0);
    expect(out).toContain(`grid stopped: '${dir}'`);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    for (const basedir of nodes) expect(existsSync(join(basedir, "running.process"))).toBe(false);
  }, 40_000);

  it("reuses the grid of a first run; a node that dies stops the grid with its last lines, exit 1", async () => {
    const dir = join(root, "grid");
    const child = spawn(process.execPath, [BIN, "grid", "up", dir], { stdio: "pipe" });
    children.push(child);
    let out = "";
    const collect = (d: Buffer) => {
      out += d.toString();
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    await waitFor(
      "the ready summary",
      () => out.includes("Press Ctrl-C to stop the grid."),
      () => out,
    );
    // No --servers: the 2 storage nodes of the first run, not the default 5.
    expect(out).toContain(`grid reused: '${dir}'`);
    expect(out).toContain("introducer, 2 storage nodes, client");

    const pidOf = (name: string) =>
      Number(readFileSync(join(dir, name, "running.process"), "utf8").split(" ")[0]);
    const others = ["introducer", "storage1", "client"].map(pidOf);
    process.kill(pidOf("storage2"), "SIGKILL");
    expect(await exit).toBe(1);
    expect(out).toContain(
      `grid node storage2 (${join(dir, "storage2")}) exited (SIGKILL); the grid was stopped`,
    );
    expect(out).toMatch(/Its last lines:\n {2}node running: storage server at pb:\/\//);
    for (const pid of others) expect(isAlive(pid)).toBe(false);
  }, 40_000);
});

describe("tahoe grid (arguments)", () => {
  it("refuses a missing or unknown action and a bad --servers", async () => {
    const sandbox = makeSandbox();
    try {
      const none = await sandbox.run(["grid"]);
      expect(none.code).toBe(2);
      expect(none.stderr).toContain("tahoe grid: error: must specify what to do with the grid");
      const down = await sandbox.run(["grid", "sideways"]);
      expect(down.code).toBe(2);
      expect(down.stderr).toContain("unknown grid action: sideways");
      const zero = await sandbox.run(["grid", "up", "--servers=0"]);
      expect(zero.code).toBe(2);
      expect(zero.stderr).toContain("--servers=0 is not a number of servers");
      expect(existsSync(join(sandbox.cwd, ".grid"))).toBe(false);
    } finally {
      sandbox.cleanup();
    }
  });

  it("refuses a directory that holds something other than a grid, and creates nothing in it", async () => {
    const sandbox = makeSandbox();
    try {
      const dir = join(sandbox.cwd, "photos");
      mkdirSync(dir);
      writeFileSync(join(dir, "cat.jpg"), "meow");
      const result = await sandbox.run(["grid", "up", "photos"]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`'${dir}' is not a grid directory`);
      expect(existsSync(join(dir, "introducer"))).toBe(false);
    } finally {
      sandbox.cleanup();
    }
  });
});
