import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadTahoeCfgText, type TahoeConfig } from "@lafs/config";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NodeError, PORT_FILE, resolveTubEndpoints } from "../src/index.js";
import { tempDir } from "./helpers.js";

let dir: ReturnType<typeof tempDir>;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => dir.cleanup());

function config(text: string): TahoeConfig {
  const loaded = loadTahoeCfgText(text, { file: "tahoe.cfg" });
  expect(loaded.errors).toEqual([]);
  return loaded.config!;
}

const noAllocation = async () => {
  throw new Error("no port should be allocated");
};

describe("resolveTubEndpoints", () => {
  it("listens on tub.port and announces tub.location as written", async () => {
    const cfg = config(
      "[node]\ntub.port = tcp:4001:interface=127.0.0.1\ntub.location = tcp:example.net:4001\n",
    );
    expect(await resolveTubEndpoints(dir.path, cfg, { allocatePort: noAllocation })).toEqual({
      listen: [{ kind: "tcp", port: 4001, interface: "127.0.0.1" }],
      hints: [{ kind: "tcp", host: "example.net", port: 4001 }],
    });
  });

  it("expands AUTO (and a missing tub.location) to the local addresses with the tcp port", async () => {
    const localAddresses = () => ["192.0.2.5", "127.0.0.1"];
    const auto = config("[node]\ntub.port = tcp:4002\ntub.location = AUTO,tcp:example.net:9\n");
    expect((await resolveTubEndpoints(dir.path, auto, { localAddresses })).hints).toEqual([
      { kind: "tcp", host: "example.net", port: 9 },
      { kind: "tcp", host: "192.0.2.5", port: 4002 },
      { kind: "tcp", host: "127.0.0.1", port: 4002 },
    ]);
    const missing = config("[node]\ntub.port = tcp:4002\n");
    expect((await resolveTubEndpoints(dir.path, missing, { localAddresses })).hints).toHaveLength(2);
  });

  it("listens nowhere when tub.port is disabled", async () => {
    const cfg = config("[node]\ntub.port = disabled\ntub.location = disabled\n[storage]\nenabled = false\n");
    expect(await resolveTubEndpoints(dir.path, cfg, { allocatePort: noAllocation })).toEqual({
      listen: [],
      hints: [],
    });
  });

  it("without tub.port picks a port once and keeps it in client.port, as Tahoe-LAFS does", async () => {
    const cfg = config("[node]\ntub.location = tcp:example.net:5000\n");
    const asked: (string | undefined)[] = [];
    const allocatePort = async (options?: { host?: string }) => {
      asked.push(options?.host);
      return 5000;
    };
    const first = await resolveTubEndpoints(dir.path, cfg, { allocatePort });
    expect(first.listen).toEqual([{ kind: "tcp", port: 5000 }]);
    expect(readFileSync(join(dir.path, PORT_FILE), "utf8")).toBe("tcp:5000\n");
    const again = await resolveTubEndpoints(dir.path, cfg, { allocatePort: noAllocation });
    expect(again.listen).toEqual(first.listen);
    expect(asked).toEqual(["0.0.0.0"]);
  });

  it("reads a bare port number in client.port, and refuses garbage naming the file", async () => {
    const cfg = config("[node]\ntub.location = tcp:example.net:5000\n");
    writeFileSync(join(dir.path, PORT_FILE), "6000\n");
    expect((await resolveTubEndpoints(dir.path, cfg)).listen).toEqual([{ kind: "tcp", port: 6000 }]);
    writeFileSync(join(dir.path, PORT_FILE), "tcp:nope\n");
    const error = await resolveTubEndpoints(dir.path, cfg).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NodeError);
    expect(error).toMatchObject({ code: "TAHOE_ERR_NODE_PORT_FILE" });
    expect((error as NodeError).message).toContain(join(dir.path, PORT_FILE));
  });
});
