import { execFile } from "node:child_process";
import { readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

// bin/tahoe.js runs dist/bundle/ only while every input it was made from is unchanged. Needs `pnpm build`.
const CLI = join(import.meta.dirname, "..");
const BIN = join(CLI, "bin", "tahoe.js");
const run = promisify(execFile);
const HOOK = `export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  process.stderr.write("loaded " + result.url + "\\n");
  return result;
}`;
const REGISTER = `import { register } from "node:module"; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOK)}`)});`;

/** Which entry `tahoe --version` ran: the bundle or the separate modules. */
async function entryUsed(): Promise<"bundle" | "modules"> {
  const env = { ...process.env };
  delete env.TAHOE_NO_BUNDLE;
  const { stderr } = await run(
    process.execPath,
    ["--import", `data:text/javascript,${encodeURIComponent(REGISTER)}`, BIN, "--version"],
    { env },
  );
  if (stderr.includes("/dist/bundle/main.js")) return "bundle";
  expect(stderr).toContain("/dist/main.js");
  return "modules";
}

describe("the bundled CLI", () => {
  const inputs = JSON.parse(readFileSync(join(CLI, "dist/bundle/inputs.json"), "utf8")) as [string, number][];
  // The CLI's own version module: small, and rewritten by every build anyway.
  const input = inputs.find(([path]) => path.endsWith("dist/version.js"));

  it("runs while its inputs are unchanged, and after a rebuild that wrote the same bytes", async () => {
    expect(input).toBeDefined();
    expect(await entryUsed()).toBe("bundle");
    const file = join(CLI, input![0]);
    const before = statSync(file);
    try {
      utimesSync(file, new Date(), new Date(Date.now() + 60_000));
      expect(await entryUsed()).toBe("bundle");
    } finally {
      utimesSync(file, before.atime, before.mtime);
    }
  });

  it("is passed over for the modules once an input's bytes changed", async () => {
    const file = join(CLI, input![0]);
    const before = statSync(file);
    const text = readFileSync(file);
    try {
      writeFileSync(file, Buffer.concat([text, Buffer.from("\n// changed\n")]));
      expect(await entryUsed()).toBe("modules");
    } finally {
      writeFileSync(file, text);
      utimesSync(file, before.atime, before.mtime);
    }
  });
});
