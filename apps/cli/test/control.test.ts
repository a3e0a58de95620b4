import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatControlUrl, parseControlUrl } from "@lafs/control-tub";
import { createTlsIdentity, parseTlsIdentityPem } from "@lafs/crypto";
import { runNode, type TahoeNode } from "@lafs/node";
import { allocatePort } from "@lafs/transport";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../src/index.js";

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "lafs-cli-control-"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function tahoe(
  argv: string[],
  onStdout: (text: string) => void = () => {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, {
    stdout: (t) => {
      stdout += t;
      onStdout(t);
    },
    stderr: (t) => {
      stderr += t;
    },
    cwd: root,
    env: {},
    homeDir: root,
    allocatePort,
  });
  return { code, stdout, stderr };
}

/** A client node made by `tahoe create-client`, running in this process until `tahoe stop`. */
async function runningNode(
  name: string,
): Promise<{ basedir: string; node: TahoeNode; stopped: Promise<unknown> }> {
  const basedir = join(root, name);
  // Test files run in parallel: the default web port 3456 would be shared.
  expect((await tahoe(["create-client", "--webport=none", basedir])).code).toBe(0);
  let ready: (node: TahoeNode) => void = () => {};
  const isReady = new Promise<TahoeNode>((resolve) => {
    ready = resolve;
  });
  const stopped = runNode(basedir, { stopSignals: [], onReady: (n) => ready(n) });
  return { basedir, node: await isReady, stopped };
}

const controlUrlOf = (basedir: string) => {
  const file = join(basedir, "private/control.url");
  return parseControlUrl(readFileSync(file, "utf8"), file);
};

describe("create-* and the control tub", () => {
  it("writes control.port on 127.0.0.1 and a control key that is not the node key", async () => {
    const basedir = join(root, "created");
    expect((await tahoe(["create-node", "--hostname=127.0.0.1", basedir])).code).toBe(0);
    const url = controlUrlOf(basedir);
    const cfg = readFileSync(join(basedir, "tahoe.cfg"), "utf8");
    expect(cfg).toContain(`\ncontrol.port = tcp:${url.port}:interface=127.0.0.1\n`);
    const control = parseTlsIdentityPem(readFileSync(join(basedir, "private/control.pem"), "utf8"));
    const node = parseTlsIdentityPem(readFileSync(join(basedir, "private/node.pem"), "utf8"));
    expect(control.spkiHash).toBe(url.spkiHash);
    expect(control.spkiHash).not.toBe(node.spkiHash);
    expect(cfg).not.toContain(url.swissnum);
  });
});

describe("tahoe status / logs / stop", () => {
  it("shows status and logs, follows a 10,000-event burst, and stops the node", async () => {
    const { basedir, node, stopped } = await runningNode("running");

    const status = await tahoe(["status", basedir]);
    expect(status).toMatchObject({ code: 0, stderr: "" });
    expect(status.stdout).toContain(`node: ${node.status().nodeId}`);
    expect(status.stdout).toContain("servers: 0 of 0 connected");
    expect(status.stdout).toContain("uploads and downloads in progress: none");
    const json = JSON.parse((await tahoe(["status", "--json", basedir])).stdout) as { nodeId: string };
    expect(json.nodeId).toBe(node.status().nodeId);

    const logs = await tahoe(["logs", "--level=info", basedir]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/^\S+Z INFO \[control-tub\] control tub running/m);
    expect(logs.stdout).not.toContain(controlUrlOf(basedir).swissnum);
    expect((await tahoe(["logs", "--level=loud", basedir])).code).toBe(2);

    // A follower sees the whole burst (or is told how many it lost), then the stream ends with the node.
    let live = "";
    const following = tahoe(["logs", "--follow", "--json", "--limit=0", basedir], (t) => {
      live += t;
    });
    // The follower is subscribed once it prints a live event.
    await expect
      .poll(() => {
        node.logs.logger.info("are you there");
        return live.includes("are you there");
      })
      .toBe(true);
    const burst = node.logs.logger.child({ component: "burst" });
    for (let i = 0; i < 10_000; i++) burst.info({ i }, "burst event");
    const stop = await tahoe(["stop", basedir]);
    expect(stop).toMatchObject({ code: 0, stdout: `node stopped: '${basedir}'\n` });
    await stopped;
    const followed = await following;
    expect(followed.code).toBe(0);
    const seen = followed.stdout
      .split("\n")
      .filter((l) => l.includes('"burst event"'))
      .map((l) => (JSON.parse(l) as { i: number }).i);
    const dropped = [...followed.stderr.matchAll(/warning: (\d+) log events dropped here/g)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
    expect(seen.length + dropped).toBe(10_000);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));

    const after = await tahoe(["status", basedir]);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain(
      `the node in ${basedir} is not running (nothing answers on 127.0.0.1:${controlUrlOf(basedir).port} from private/control.url)`,
    );
  });

  it("refuses a control tub whose certificate does not match the pin, naming the file", async () => {
    const { basedir, stopped } = await runningNode("pinned");
    const file = join(basedir, "private/control.url");
    const real = controlUrlOf(basedir);
    writeFileSync(file, formatControlUrl({ ...real, spkiHash: createTlsIdentity().spkiHash }));
    const result = await tahoe(["status", basedir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`not the pin`);
    expect(result.stderr).toContain(file);
    expect(result.stdout).toBe("");
    writeFileSync(file, formatControlUrl(real));
    expect((await tahoe(["stop", basedir])).code).toBe(0);
    await stopped;
  });

  it("says which file is missing for a directory that is not a node", async () => {
    const result = await tahoe(["status", join(root, "nothing")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(join(root, "nothing", "private/control.url"));
  });
});
