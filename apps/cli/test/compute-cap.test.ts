import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatSecretFile } from "@lafs/crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeSandbox, type Sandbox } from "./helpers.js";

interface RawVector {
  convergence: string;
  sample: { seed: string; length: number };
  zfec: { required: number; total: number; segmentSize: number };
  expected: string;
}

const VECTORS = JSON.parse(
  readFileSync(join(import.meta.dirname, "../../../../shared/vectors/chk.json"), "utf8"),
) as RawVector[];

function stretch(seed: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let at = 0; at < length; at += seed.length) seed.copy(out, at, 0, Math.min(seed.length, length - at));
  return out;
}

let box: Sandbox;
beforeEach(() => {
  box = makeSandbox();
});
afterEach(() => box.cleanup());

function writeSecret(name: string, secret: Buffer): string {
  const path = join(box.cwd, name);
  writeFileSync(path, formatSecretFile(secret));
  return path;
}

describe("tahoe debug compute-cap", () => {
  it("reproduces the published vectors (k <= 3 and one 71-of-255)", async () => {
    const picked = VECTORS.filter(
      (v) => v.zfec.total <= 10 || (v.zfec.required === 71 && v.sample.length === 131073),
    );
    expect(picked.length).toBeGreaterThan(30);
    for (const [i, v] of picked.entries()) {
      const secretFile = writeSecret(`secret-${i}`, Buffer.from(v.convergence, "base64"));
      writeFileSync(
        join(box.cwd, `file-${i}`),
        stretch(Buffer.from(v.sample.seed, "base64"), v.sample.length),
      );
      const result = await box.run([
        "debug",
        "compute-cap",
        `--shares-needed=${v.zfec.required}`,
        `--shares-total=${v.zfec.total}`,
        `--max-segment-size=${v.zfec.segmentSize}`,
        `--convergence-secret-file=${secretFile}`,
        `file-${i}`,
      ]);
      expect(result).toEqual({ code: 0, stdout: `${v.expected}\n`, stderr: "" });
    }
  });

  it("uses the node's convergence secret and tahoe.cfg inside a node directory", async () => {
    expect((await box.run(["create-client", "node"])).code).toBe(0);
    const nodeDir = join(box.cwd, "node");
    const cfg = join(nodeDir, "tahoe.cfg");
    const text = readFileSync(cfg, "utf8")
      .replace("shares.needed = 3", "shares.needed = 2")
      .replace("shares.happy = 7", "shares.happy = 2")
      .replace("shares.total = 10", "shares.total = 5");
    writeFileSync(cfg, text);
    writeFileSync(join(box.cwd, "data"), Buffer.alloc(5000, 7));
    const viaNode = await box.run(["-d", "node", "debug", "compute-cap", "data"]);
    expect(viaNode.code).toBe(0);
    expect(viaNode.stdout).toMatch(/^URI:CHK:[a-z2-7]{26}:[a-z2-7]{52}:2:5:5000\n$/);
    const viaFile = await box.run([
      "debug",
      "compute-cap",
      "--shares-needed=2",
      "--shares-total=5",
      `--convergence-secret-file=${join(nodeDir, "private", "convergence")}`,
      "data",
    ]);
    expect(viaFile.stdout).toBe(viaNode.stdout);
  });

  it("prints a new cap each time with --random-key, and LIT caps for small files", async () => {
    writeFileSync(join(box.cwd, "data"), Buffer.alloc(100, 1));
    const a = await box.run(["debug", "compute-cap", "--random-key", "data"]);
    const b = await box.run(["debug", "compute-cap", "--random-key", "data"]);
    expect(a.stdout).toMatch(/^URI:CHK:.*:3:10:100\n$/);
    expect(a.stdout).not.toBe(b.stdout);
    writeFileSync(join(box.cwd, "small"), "hello");
    expect((await box.run(["debug", "compute-cap", "--random-key", "small"])).stdout).toBe(
      "URI:LIT:nbswy3dp\n",
    );
  });

  it.each([
    [["debug", "compute-cap", "--random-key"], 2, /needs a FILE/],
    [["debug", "compute-cap", "--random-key", "a", "b"], 2, /takes one FILE/],
    [["debug", "compute-cap", "data"], 2, /no convergence secret/],
    [
      ["debug", "compute-cap", "--random-key", "--shares-needed=4", "--shares-total=3", "data"],
      2,
      /larger than/,
    ],
    [["debug", "compute-cap", "--random-key", "--shares-total=300", "data"], 2, /from 1 to 256/],
    [["debug", "compute-cap", "--random-key", "missing"], 1, /cannot read '.*missing': ENOENT/],
    [["debug", "compute-cap", "--convergence-secret-file=missing", "data"], 1, /cannot read/],
    [["debug", "nonsense"], 2, /unknown debug subcommand: nonsense/],
  ])("tahoe %j exits %d", async (argv, code, message) => {
    writeFileSync(join(box.cwd, "data"), Buffer.alloc(100, 1));
    const result = await box.run(argv);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe("");
  });

  it("rejects a malformed secret file with TAHOE_ERR_CRYPTO_SECRET_FILE's message", async () => {
    writeFileSync(join(box.cwd, "data"), Buffer.alloc(100, 1));
    writeFileSync(join(box.cwd, "bad"), "NOT BASE32\n");
    const result = await box.run(["debug", "compute-cap", "--convergence-secret-file=bad", "data"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/bad: /);
  });

  it("reads - from stdin (the real binary)", async () => {
    const v = VECTORS[22]!;
    const secretFile = writeSecret("secret", Buffer.from(v.convergence, "base64"));
    const bin = join(import.meta.dirname, "..", "bin", "tahoe.js");
    const child = spawn(
      process.execPath,
      [
        bin,
        "debug",
        "compute-cap",
        `--shares-needed=${v.zfec.required}`,
        `--shares-total=${v.zfec.total}`,
        `--max-segment-size=${v.zfec.segmentSize}`,
        `--convergence-secret-file=${secretFile}`,
        "-",
      ],
      { cwd: box.cwd, env: { ...process.env, HOME: box.home } },
    );
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stdin.end(stretch(Buffer.from(v.sample.seed, "base64"), v.sample.length));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code).toBe(0);
    expect(stdout).toBe(`${v.expected}\n`);
  });
});
