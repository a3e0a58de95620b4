import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeSandbox, type Sandbox } from "./helpers.js";

let sandbox: Sandbox;
let nodedir: string;
beforeEach(() => {
  sandbox = makeSandbox();
  nodedir = join(sandbox.root, "node");
  mkdirSync(nodedir);
});
afterEach(() => sandbox.cleanup());

describe("tahoe webopen", () => {
  it("--print prints the welcome page's URL from node.url", async () => {
    writeFileSync(join(nodedir, "node.url"), "http://127.0.0.1:3456/\n");
    const res = await sandbox.run(["-d", nodedir, "webopen", "--print"]);
    expect(res).toMatchObject({ code: 0, stdout: "http://127.0.0.1:3456/\n" });
  });

  it("--print ALIAS:path prints that directory's page, each name percent-encoded", async () => {
    writeFileSync(join(nodedir, "node.url"), "http://127.0.0.1:3456/\n");
    mkdirSync(join(nodedir, "private"), { recursive: true });
    const dircap = "URI:DIR2:hcxfasxcqka3nsf6auf43p6t5a:opjsiuw2ony7eaz42dyq2cwbcesceososexyeupg4pdk3gpt22ca";
    expect((await sandbox.run(["-d", nodedir, "add-alias", "home", dircap])).code).toBe(0);
    const res = await sandbox.run(["-d", nodedir, "webopen", "--print", "home:photos/été"]);
    expect(res.stdout).toBe(`http://127.0.0.1:3456/uri/${encodeURIComponent(dircap)}/photos/%C3%A9t%C3%A9\n`);
    const unknown = await sandbox.run(["-d", nodedir, "webopen", "--print", "nope:x"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("Unknown alias 'nope'");
  });

  it("--control-panel --print writes a fresh secret (0600) each time and prints the panel's URL", async () => {
    writeFileSync(join(nodedir, "node.url"), "http://127.0.0.1:3456/\n");
    mkdirSync(join(nodedir, "private"), { mode: 0o700 });
    const first = await sandbox.run(["-d", nodedir, "webopen", "--control-panel", "--print"]);
    expect(first.code).toBe(0);
    const secretFile = join(nodedir, "private", "web.secret");
    const secret = readFileSync(secretFile, "utf8").trim();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first.stdout).toBe(`http://127.0.0.1:3456/control/${secret}/\n`);
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    const second = await sandbox.run(["--node-directory", nodedir, "webopen", "--control-panel", "--print"]);
    expect(second.stdout).not.toBe(first.stdout);
    expect(second.stdout).toContain(readFileSync(secretFile, "utf8").trim());
  });

  it("explains that a directory with only node.url cannot open the panel", async () => {
    writeFileSync(join(nodedir, "node.url"), "http://127.0.0.1:3456/\n");
    const res = await sandbox.run(["-d", nodedir, "webopen", "--control-panel", "--print"]);
    expect(res.code).not.toBe(0);
    expect(res.stdout).toBe("");
    expect(res.stderr).toContain("has node.url but no private/ directory");
    expect(res.stderr).toContain("private/web.secret");
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });

  it("says the node is not running when there is no node.url", async () => {
    const res = await sandbox.run(["-d", nodedir, "webopen", "--print"]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("the node there is not running, or has no web port");
    expect(res.stderr).toContain("tahoe run");
    expect(res.stderr).not.toContain("ENOENT");
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });

  it("is listed in tahoe --help and has its own help", async () => {
    expect((await sandbox.run(["--help"])).stdout).toMatch(/webopen\s+Open the welcome page/);
    const help = await sandbox.run(["webopen", "--help"]);
    expect(help.stdout).toContain("--control-panel");
    expect(help.stdout).toContain("--print");
  });
});

describe("tahoe put and web.upload-authority = private", () => {
  it("sends private/api_auth_token as Authorization: tahoe-bearer when it can read it", async () => {
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      req.resume();
      req.on("end", () => res.end("URI:LIT:nbswy3dp"));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      writeFileSync(join(nodedir, "node.url"), `http://127.0.0.1:${port}/\n`);
      writeFileSync(join(sandbox.cwd, "f.txt"), "hello");
      expect((await sandbox.run(["-d", nodedir, "put", "f.txt"])).code).toBe(0);
      mkdirSync(join(nodedir, "private"));
      writeFileSync(join(nodedir, "private", "api_auth_token"), "tok-123\n", { mode: 0o600 });
      expect((await sandbox.run(["-d", nodedir, "put", "f.txt"])).code).toBe(0);
      expect(seen).toEqual([undefined, "tahoe-bearer tok-123"]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
