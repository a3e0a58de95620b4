import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// These run the real binary (bin/tahoe.js -> dist/main.js), so they need `pnpm build` first,
// as every cross-package test in this repository does.
const BIN = join(import.meta.dirname, "..", "bin", "tahoe.js");
const run = promisify(execFile);

async function tahoe(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...process.env, HOME: cwd },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "lafs-cli-bin-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the tahoe binary", () => {
  it("prints help and exits 0", async () => {
    const result = await tahoe(["--help"], dir);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/^Usage: tahoe \[global-options\] <command> \[command-options\]\n/);
    expect(result.stdout).toContain(`'${join(dir, ".tahoe")}'`);
  });

  it("creates a node with a real free port", async () => {
    const node = join(dir, "node");
    const result = await tahoe(["create-node", "--hostname=127.0.0.1", "--nickname=e2e", node], dir);
    expect(result).toEqual({
      code: 0,
      stdout:
        `Node created in '${node}'\n` +
        ` Please add introducers to '${join(node, "private", "introducers.yaml")}'!\n` +
        " The node cannot connect to a grid without it.\n",
      stderr: "",
    });
    const cfg = readFileSync(join(node, "tahoe.cfg"), "utf8");
    const port = Number(/^tub\.port = tcp:(\d+)$/m.exec(cfg)?.[1]);
    expect(port).toBeGreaterThan(0);
    expect(cfg).toContain(`\ntub.location = tcp:127.0.0.1:${port}\n`);
    // The port was free when it was chosen; nobody else should have taken it since.
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: "0.0.0.0", port, exclusive: true }, resolve);
    });
    await new Promise((resolve) => server.close(resolve));
    expect(statSync(join(node, "private")).mode & 0o777).toBe(0o700);
    expect(statSync(join(node, "private", "node.privkey")).mode & 0o777).toBe(0o600);
  });

  it("reports a usage error on stderr with exit 2 and no stack trace", async () => {
    const result = await tahoe(["create-node", join(dir, "nohost")], dir);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    const lines = result.stderr.split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe("tahoe create-node: error: --listen=tcp requires --hostname=");
    expect(lines[1]).toMatch(/^Give --hostname=NAME/);
    expect(lines[2]).toBe("");
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it("reports a refused directory with exit 1 and no stack trace", async () => {
    const result = await tahoe(["create-client", dir], dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `The base directory '${dir}' is not empty.\n` +
        "To avoid clobbering anything, I am going to quit now. Please use a different directory, or empty this one.\n",
    );
  });
});
