import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../support/free-port.js";
import { findRefPeer, type RefGrid, startRefGrid, stopRef } from "../support/refpeer.js";

/**
 * docs/joining-a-grid.md's commands, run as written (bash, lafs-ts's `tahoe` on PATH,
 * $TAHOE_LAFS the reference Tahoe-LAFS 1.20) against a reference grid whose introducer fURL is
 * $INTRODUCER_FURL, so the guide cannot go stale. Only the web ports are replaced by free ones.
 */

const peer = findRefPeer("docs/joining-a-grid.md (needs a Tahoe-LAFS grid)");
const BIN = join(import.meta.dirname, "../../apps/cli/bin/tahoe.js");
const GUIDE = join(import.meta.dirname, "../../docs/joining-a-grid.md");
const run = promisify(execFile);

/** Every `$ ` line of the guide's console blocks, in order. */
function guideCommands(text: string): string[] {
  const out: string[] = [];
  for (const block of text.matchAll(/```console\n([\s\S]*?)```/g)) {
    for (const line of (block[1] ?? "").split("\n")) if (line.startsWith("$ ")) out.push(line.slice(2));
  }
  return out;
}

async function until(what: string, ms: number, test: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await test().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.skipIf(peer === undefined)("docs/joining-a-grid.md against a Tahoe-LAFS 1.20 grid", () => {
  const ref = peer!;
  let root: string;
  let work: string;
  let grid: RefGrid | undefined;
  const env: NodeJS.ProcessEnv = { ...process.env };
  const background: { child: ChildProcess; dir: string }[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "lafs-guide-join-"));
    work = join(root, "work");
    mkdirSync(work);
    grid = await startRefGrid(ref, join(root, "grid"), { n: 2, k: 1, happy: 2, total: 2 });
    const bin = join(root, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "tahoe"), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    chmodSync(join(bin, "tahoe"), 0o755);
    env.PATH = `${bin}:${env.PATH}`;
    env.TAHOE_LAFS = ref.cli;
    env.INTRODUCER_FURL = readFileSync(join(grid.dir, "introducer/private/introducer.furl"), "utf8").trim();
  }, 150_000);

  afterAll(async () => {
    try {
      for (const { child } of background) {
        if (child.exitCode !== null || child.signalCode !== null) continue;
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }
    } finally {
      try {
        await stopRef(ref, join(root, "grid"));
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }
  }, 60_000);

  it("runs every command of the guide: join by fURL, move a Tahoe-LAFS client to lafs-ts with the same caps, and back", async () => {
    const commands = guideCommands(readFileSync(GUIDE, "utf8"));
    expect(commands.length).toBeGreaterThanOrEqual(15);
    const ports = { "3456": await freePort(), "3457": await freePort() };
    for (const written of commands) {
      const line = written
        .replaceAll("tcp:3456:", `tcp:${ports["3456"]}:`)
        .replaceAll("tcp:3457:", `tcp:${ports["3457"]}:`);
      if (line.endsWith(" &")) {
        // A node in the background: ready once running.process names it and its web port answers.
        const dir = join(work, line.slice(0, -2).trim().split(/\s+/).pop()!);
        // stdin stays open, as a terminal's: `tahoe run` stops when its stdin closes (as Tahoe-LAFS's).
        const child = spawn("bash", ["-c", `exec ${line.slice(0, -2)}`], {
          cwd: work,
          env,
          stdio: ["pipe", "ignore", "ignore"],
        });
        background.push({ child, dir });
        await until(`'${written}' ready`, 60_000, async () => {
          if (child.exitCode !== null) expect.fail(`'${written}' exited ${child.exitCode}`);
          const pid = readFileSync(join(dir, "running.process"), "utf8").split(/\s/)[0];
          if (pid !== String(child.pid)) return false;
          const url = readFileSync(join(dir, "node.url"), "utf8").trim();
          return (await fetch(url)).status === 200;
        });
        continue;
      }
      if (line.startsWith("tahoe status")) {
        // "Wait until tahoe status laptop says servers: 2 of 2 connected".
        let status = "";
        await until(`'${written}' shows both servers`, 60_000, async () => {
          status = (await run("bash", ["-c", line], { cwd: work, env })).stdout;
          return /^servers: 2 of 2 connected$/m.test(status);
        });
        continue;
      }
      // An upload right after a start may come before the servers are connected: retried.
      const retry = / put /.test(line) ? 60_000 : 0;
      const deadline = Date.now() + retry;
      for (;;) {
        const result = await run("bash", ["-c", line], { cwd: work, env, timeout: 120_000 }).then(
          (r) => ({ ok: true as const, ...r }),
          (e: { code?: number; stderr?: string }) => ({
            ok: false as const,
            stdout: "",
            stderr: e.stderr ?? "",
            code: e.code,
          }),
        );
        if (result.ok) {
          expect(result.stderr, written).not.toMatch(/internal error|^\s+at /m);
          break;
        }
        if (Date.now() > deadline) throw new Error(`'${written}' failed (${result.code}): ${result.stderr}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    expect(readFileSync(join(work, "back.txt"), "utf8")).toBe("hello, Tahoe grid\n");
    expect(readFileSync(join(work, "again.cap"), "utf8")).toBe(readFileSync(join(work, "old.cap"), "utf8"));
    expect(existsSync(join(work, "old/private/convergence"))).toBe(true);
  }, 400_000);
});
