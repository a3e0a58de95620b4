import { type ChildProcessWithoutNullStreams, execFile, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// docs/tor.md's commands, run as written (bash, a `tahoe` on PATH) against one private Tor
// network (../shared/tools/tornet), so the guide cannot go stale.
const BIN = join(import.meta.dirname, "..", "bin", "tahoe.js");
const GUIDE = join(import.meta.dirname, "../../../docs/tor.md");
const TORNET = join(import.meta.dirname, "../../../../shared/tools/tornet/tornet.sh");
const execFileAsync = promisify(execFile);
const torOnPath = (process.env.PATH ?? "").split(":").some((d) => d && existsSync(join(d, "tor")));

/** Every `$ ` line of the guide's console blocks, in order. */
function guideCommands(text: string): string[] {
  const out: string[] = [];
  for (const block of text.matchAll(/```console\n([\s\S]*?)```/g)) {
    for (const line of (block[1] ?? "").split("\n")) if (line.startsWith("$ ")) out.push(line.slice(2));
  }
  return out;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  await new Promise((r) => server.close(r));
  return typeof address === "object" && address ? address.port : 0;
}

describe.skipIf(!torOnPath)("docs/tor.md on a private Tor network", () => {
  const env: NodeJS.ProcessEnv = { ...process.env, TORNET_OWNER_PID: String(process.pid) };
  const background: ChildProcessWithoutNullStreams[] = [];
  let work: string;
  let ports: { control: number; socks: number };

  beforeAll(async () => {
    env.TORNET_DIR = mkdtempSync(join(tmpdir(), "lafs-guide-tornet-"));
    const base = 20_000 + Math.floor(Math.random() * 127) * 100;
    env.TORNET_BASE_PORT = String(base);
    ports = { control: base + 62, socks: base + 63 };
    await execFileAsync("bash", [TORNET, "start"], { env, timeout: 240_000 });
    work = mkdtempSync(join(tmpdir(), "lafs-guide-"));
    const bin = join(work, ".bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "tahoe"), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    chmodSync(join(bin, "tahoe"), 0o755);
    env.PATH = `${bin}:${env.PATH}`;
  }, 250_000);

  afterAll(async () => {
    for (const child of background) {
      if (child.exitCode !== null) continue;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    await execFileAsync("bash", [TORNET, "stop"], { env }).catch(() => {});
    if (env.TORNET_DIR) rmSync(env.TORNET_DIR, { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it("runs every command of the guide: onion introducer and server, hide-ip client, a file through onions", async () => {
    const commands = guideCommands(readFileSync(GUIDE, "utf8"));
    expect(commands.length).toBeGreaterThanOrEqual(9);
    const webPort = await freePort();
    const started = Date.now();
    for (const written of commands) {
      const line = written
        .replaceAll("tcp:127.0.0.1:9051", `tcp:127.0.0.1:${ports.control}`)
        .replaceAll("tcp:127.0.0.1:9050", `tcp:127.0.0.1:${ports.socks}`)
        .replaceAll("tcp:3456:", `tcp:${webPort}:`);
      if (line.endsWith(" &")) {
        // A node in the background: the guide says to wait for "tor: ready".
        const child = spawn("bash", ["-c", `exec ${line.slice(0, -2)}`], { cwd: work, env, stdio: "pipe" });
        background.push(child);
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
        });
        child.stderr.on("data", (d: Buffer) => {
          out += d.toString();
        });
        const deadline = Date.now() + 120_000;
        while (!/^tor: ready: /m.test(out)) {
          if (child.exitCode !== null) throw new Error(`'${written}' exited ${child.exitCode}:\n${out}`);
          if (Date.now() > deadline) throw new Error(`'${written}': no 'tor: ready' in 120 s:\n${out}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        continue;
      }
      if (line.startsWith("tahoe status")) {
        // "Once tahoe status client shows the server connected".
        const deadline = Date.now() + 120_000;
        let status = "";
        while (!/^servers: 1 of 1 connected$/m.test(status)) {
          if (Date.now() > deadline) throw new Error(`the client did not connect to the server:\n${status}`);
          await new Promise((r) => setTimeout(r, 500));
          status = (await execFileAsync("bash", ["-c", line], { cwd: work, env })).stdout;
        }
        expect(status).toMatch(/^tor: ready: /m);
        continue;
      }
      const result = await execFileAsync("bash", ["-c", line], { cwd: work, env, timeout: 120_000 }).catch(
        (e: { code?: number; stderr?: string }) => {
          throw new Error(`'${written}' failed (${e.code}): ${e.stderr}`);
        },
      );
      expect(result.stderr, written).not.toMatch(/internal error|^\s+at /m);
    }
    expect(readFileSync(join(work, "hello-again.txt"), "utf8")).toBe("hello over onions\n");
    console.info(
      `docs/tor.md on tornet: ${commands.length} commands in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  }, 400_000);
});
