import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { COMMANDS } from "../src/index.js";
import { makeSandbox, type Sandbox } from "./helpers.js";

let box: Sandbox;
beforeEach(() => {
  box = makeSandbox();
});
afterEach(() => box.cleanup());

describe("tahoe --help", () => {
  it.each([["--help"], ["-h"], ["-q", "--help"]])(
    "%s lists global options and every command",
    async (...argv) => {
      const { code, stdout, stderr } = await box.run(argv);
      expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
      const lines = stdout.split("\n");
      expect(lines[0]).toBe("Usage: tahoe [global-options] <command> [command-options]");
      expect(lines).toContain("Global options:");
      expect(stdout).toMatch(/^ {2}-d, --node-directory= +Specify which Tahoe node directory/m);
      expect(stdout.replace(/\n\s+/g, " ")).toContain(
        `[default for most commands: '${join(box.home, ".tahoe")}']`,
      );
      expect(stdout).toMatch(/^ {2}-q, --quiet +Operate silently\.$/m);
      expect(stdout).toMatch(/^ {2}-V, --version +Display version numbers\.$/m);
      expect(lines).toContain("(Administration)");
      for (const command of COMMANDS) {
        expect(lines).toContain(`    ${command.name.padEnd(20)}${command.summary}`);
      }
      expect(lines.at(-2)).toBe("Please run 'tahoe <command> --help' for more details on each command.");
    },
  );
});

describe("tahoe <verb> --help", () => {
  it.each([
    {
      verb: "create-node",
      synopsis: "[options] [NODEDIR]",
      has: ["--no-storage", "--listen=", "--tor-launch"],
      lacks: [],
    },
    {
      verb: "create-client",
      synopsis: "[options] [NODEDIR]",
      has: ["--nickname=", "--shares-total="],
      lacks: ["--listen=", "--no-storage", "--hostname="],
    },
    {
      verb: "create-introducer",
      synopsis: "[options] NODEDIR",
      has: ["--hostname=", "--i2p-sam-port="],
      lacks: ["--nickname=", "--webport=", "--shares-needed="],
    },
  ])("$verb", async ({ verb, synopsis, has, lacks }) => {
    for (const argv of [
      [verb, "--help"],
      [verb, "-h"],
      [verb, "--hide-ip", "--help"],
    ]) {
      const { code, stdout, stderr } = await box.run(argv);
      expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
      const lines = stdout.split("\n");
      expect(lines.slice(0, 4)).toEqual([
        `Usage: tahoe [global-options] ${verb} ${synopsis}`,
        "(use 'tahoe --help' to view global options)",
        "",
        "Options:",
      ]);
      for (const option of has) expect(stdout).toMatch(new RegExp(`^ {2}(-., | {4})${option}`, "m"));
      for (const option of lacks) expect(stdout).not.toContain(option);
      expect(stdout).toMatch(/^ {6}--help|^ {2}-h, --help +Display this help and exit\.$/m);
      expect(stdout).toContain("Create a");
    }
  });

  it("shows Tahoe-LAFS's defaults", async () => {
    const { stdout } = await box.run(["create-node", "--help"]);
    const flat = stdout.replace(/\n\s+/g, " ");
    expect(flat).toContain("Use 'none' to disable. [default: tcp:3456:interface=127.0.0.1]");
    expect(flat).toContain("Needed shares required for uploaded files. [default: 3]");
    expect(flat).toContain("How many servers new files must be placed on. [default: 7]");
    expect(flat).toContain("Total shares required for uploaded files. [default: 10]");
    expect(flat).toContain("(tcp,tor,i2p,none). [default: tcp]");
    expect(flat).toContain(`--node-directory option. [default: '${join(box.home, ".tahoe")}']`);
  });

  it("keeps every help line within 80 columns", async () => {
    for (const argv of [["--help"], ...COMMANDS.map((c) => [c.name, "--help"])]) {
      const { stdout } = await box.run(argv);
      const long = stdout.split("\n").filter((l) => l.length > 80);
      expect(long).toEqual([]);
    }
  });

  it("help wins over a mistake later on the line, as in Twisted", async () => {
    const { code, stdout } = await box.run(["create-node", "--help", "--bogus"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: tahoe \[global-options\] create-node/);
  });
});

describe("tahoe --version", () => {
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, "..", "package.json"), "utf8")) as {
    version: string;
  };

  it.each([["--version"], ["-V"], ["-q", "--version"]])("%s", async (...argv) => {
    expect(await box.run(argv)).toEqual({
      code: 0,
      stdout: `lafs-ts ${pkg.version} (Tahoe-LAFS 1.20 compatible)\n`,
      stderr: "",
    });
  });
});
