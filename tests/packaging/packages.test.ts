import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { haveChromium, MISSING_CHROMIUM, openBrowser } from "../browser/chromium.js";
import {
  cleanEnv,
  type LoopbackRegistry,
  type Manifest,
  ROOT,
  readManifest,
  run,
  startLoopbackRegistry,
  tarPackageDir,
  thirdPartyClosure,
  workspacePackageDirs,
} from "./support.js";

/**
 * Every package under packages/ and apps/ packed with `pnpm pack` (as `pnpm publish` would
 * upload it) and installed with npm into a scratch project outside the workspace. Third-party
 * packages come from a registry on 127.0.0.1 that serves exactly the versions pnpm installed
 * here, from its store: nothing is fetched from the network, and any package the tarballs
 * need but the closure lacks shows up as a 404.
 */

/** The part of esbuild's API used here (esbuild is a devDependency of packages/web, not of tests/). */
interface Esbuild {
  build(options: Record<string, unknown>): Promise<{
    metafile: { inputs: Record<string, unknown> };
    outputFiles: { text: string }[];
  }>;
}

interface Packed {
  dir: string;
  manifest: Manifest;
  /** The package.json inside the tarball (workspace: ranges rewritten by pnpm). */
  published: Manifest;
  tarball: string;
  files: string[];
}

const dirs = workspacePackageDirs();
let work: string;
let project: string;
let registry: LoopbackRegistry | undefined;
const packed: Packed[] = [];
let installLog = "";

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "lafs-packaging-"));
  const tarballs = join(work, "tarballs");
  await mkdir(tarballs);
  for (const dir of dirs) {
    const manifest = readManifest(dir);
    await run("pnpm", ["pack", "--pack-destination", tarballs], { cwd: dir });
    const tarball = join(
      tarballs,
      `${manifest.name.replace("@", "").replace("/", "-")}-${manifest.version}.tgz`,
    );
    const { stdout: list } = await run("tar", ["-tzf", tarball]);
    const { stdout: json } = await run("tar", ["-xzOf", tarball, "package/package.json"]);
    packed.push({
      dir,
      manifest,
      published: JSON.parse(json) as Manifest,
      tarball,
      files: list
        .trim()
        .split("\n")
        .map((f) => f.replace(/^package\//, "")),
    });
  }

  const thirdParty = [];
  for (const [key, dir] of thirdPartyClosure(dirs)) {
    const file = join(tarballs, `third-party-${key.replace(/[@/]/g, "_")}.tgz`);
    await tarPackageDir(dir, file);
    thirdParty.push({ manifest: readManifest(dir), file });
  }
  registry = await startLoopbackRegistry([
    ...thirdParty,
    ...packed.map((p) => ({ manifest: p.published, file: p.tarball })),
  ]);

  project = join(work, "project");
  await mkdir(project);
  await writeFile(
    join(project, "package.json"),
    JSON.stringify({ name: "lafs-packaging-check", version: "1.0.0", private: true, type: "module" }),
  );
  const home = join(work, "home");
  await mkdir(home);
  const result = await run(
    "npm",
    [
      "install",
      "--registry",
      registry.url,
      "--cache",
      join(work, "npm-cache"),
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      "--no-update-notifier",
      "--loglevel=warn",
      ...packed.map((p) => p.tarball),
    ],
    { cwd: project, env: cleanEnv(home), maxBuffer: 16 * 1024 * 1024 },
  );
  installLog = result.stdout + result.stderr;
}, 600_000);

afterAll(async () => {
  await registry?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("each package as published", () => {
  it("is public, licensed, points at its repository and ships dist, types and a README", () => {
    expect(packed.map((p) => p.manifest.name).sort()).toEqual(dirs.map((d) => readManifest(d).name).sort());
    for (const { manifest, published, files, dir } of packed) {
      const where = manifest.name;
      expect(published.private, where).toBeUndefined();
      expect(published.license, where).toBe("GPL-2.0-or-later");
      expect(published.publishConfig?.access, where).toBe("public");
      expect(published.repository?.directory, where).toBe(dir.slice(ROOT.length + 1));
      expect(published.repository?.url, where).toBe(readManifest(dirs[0]!).repository?.url);
      expect(published.homepage, where).toContain(dir.slice(ROOT.length + 1));
      const entry = published.exports?.["."];
      expect(files, where).toContain(entry?.default?.replace("./", ""));
      expect(files, where).toContain(entry?.types?.replace("./", ""));
      expect(files, where).toContain("README.md");
      const readme = readFileSync(join(dir, "README.md"), "utf8");
      expect(readme, where).toMatch(/## Install[\s\S]*npm install (--global )?@lafs\//);
      expect(readme, where).toMatch(/```(ts|sh)\n/);
      expect(
        files.filter((f) => /^test\/|\.test\.|tsbuildinfo$/.test(f)),
        where,
      ).toEqual([]);
    }
  });

  it("ships no compiled module whose source is gone", () => {
    for (const { manifest, files } of packed) {
      const stale = files
        .filter((f) => /^dist\/.*\.js$/.test(f) && !/^dist\/(assets|bundle)\//.test(f))
        .filter((f) => !files.includes(f.replace(/^dist\//, "src/").replace(/\.js$/, ".ts")));
      expect(stale, manifest.name).toEqual([]);
    }
  });

  it("depends on the other @lafs packages at exactly their packed versions, never workspace:", () => {
    const versions = new Map(packed.map((p) => [p.published.name, p.published.version]));
    for (const { published } of packed) {
      expect(JSON.stringify(published), published.name).not.toContain("workspace:");
      for (const [dep, range] of Object.entries(published.dependencies ?? {})) {
        if (dep.startsWith("@lafs/")) expect(range, `${published.name} -> ${dep}`).toBe(versions.get(dep));
      }
    }
  });
});

describe("the tarballs installed by npm into a scratch project", () => {
  it("installed with every third-party package from the loopback registry and nothing else", () => {
    expect(
      registry!.requests.filter((r) => !r.served),
      installLog,
    ).toEqual([]);
    expect(registry!.requests.some((r) => r.path.includes("/-/tarball/fastify/"))).toBe(true);
    for (const { published } of packed) {
      expect(existsSync(join(project, "node_modules", published.name, "package.json")), published.name).toBe(
        true,
      );
    }
  });

  it("imports every package's entry", async () => {
    const names = packed.map((p) => p.published.name);
    const script = `for (const name of ${JSON.stringify(names)}) {
      const module = await import(name);
      console.log(name, Object.keys(module).length);
    }`;
    const { stdout } = await run("node", ["--input-type=module", "-e", script], {
      cwd: project,
      env: cleanEnv(join(work, "home")),
    });
    const counts = new Map(
      stdout
        .trim()
        .split("\n")
        .map((line) => line.split(" ") as [string, string]),
    );
    for (const name of names) expect(Number(counts.get(name)), name).toBeGreaterThan(0);
  });

  it("runs the installed `tahoe --version` and `tahoe create-client`", async () => {
    const tahoe = join(project, "node_modules", ".bin", "tahoe");
    const env = cleanEnv(join(work, "home"));
    const version = await run(tahoe, ["--version"], { cwd: project, env });
    const cli = packed.find((p) => p.published.name === "@lafs/cli")!;
    expect(version.stdout).toBe(`lafs-ts ${cli.published.version} (Tahoe-LAFS 1.20 compatible)\n`);
    const created = await run(tahoe, ["create-client", "client"], { cwd: project, env });
    expect(created.stdout).toContain("client");
    const cfg = readFileSync(join(project, "client", "tahoe.cfg"), "utf8");
    expect(cfg).toMatch(/^\[node\]$/m);
    expect(cfg).toMatch(/^\[storage\]\n(#.*\n)*enabled = false$/m);
    expect(existsSync(join(project, "client", "private", "node.privkey"))).toBe(true);
  }, 60_000);
});

describe("@lafs/placement's tarball in a browser bundle", () => {
  const request = {
    storageIndex: Array.from({ length: 16 }, (_, i) => i * 11),
    k: 3,
    happy: 7,
    n: 10,
    servers: Array.from({ length: 12 }, (_, i) => `server-${i}`),
  };
  const entry = `import { permutationSeedFor, placeShares } from "@lafs/placement";
    globalThis.placeFromBundle = (r) => {
      const plan = placeShares({
        storageIndex: Uint8Array.from(r.storageIndex), k: r.k, happy: r.happy, n: r.n,
        servers: r.servers.map((id) => ({ id, permutationSeed: permutationSeedFor(id), connected: true, writable: true })),
      });
      return { ok: plan.ok, happiness: plan.happiness, order: plan.servers.map((s) => s.id + ":" + s.newShares.join(",")) };
    };`;

  it.skipIf(!haveChromium)(
    "bundles for the browser with esbuild and places shares as Node does",
    async () => {
      const bundleDir = join(work, "bundle");
      await mkdir(bundleDir);
      await writeFile(join(project, "browser-entry.js"), entry);
      // esbuild from the workspace (packages/web builds the simulator with it); it resolves
      // @lafs/placement from the scratch project's node_modules, i.e. the installed tarball.
      const esbuild = createRequire(join(ROOT, "packages/web/package.json"))("esbuild") as Esbuild;
      const result = await esbuild.build({
        entryPoints: [join(project, "browser-entry.js")],
        absWorkingDir: project,
        bundle: true,
        platform: "browser",
        format: "iife",
        target: ["es2022"],
        write: false,
        logLevel: "silent",
        metafile: true,
      });
      const inputs = Object.keys(result.metafile.inputs);
      expect(inputs.some((i) => i.startsWith("node_modules/@lafs/placement/dist/"))).toBe(true);
      expect(inputs.filter((i) => i.startsWith(ROOT))).toEqual([]);
      const code = result.outputFiles[0]!.text;

      const inNode = await run(
        "node",
        [
          "--input-type=module",
          "-e",
          `${entry}\nconsole.log(JSON.stringify(placeFromBundle(${JSON.stringify(request)})))`,
        ],
        { cwd: project, env: cleanEnv(join(work, "home")) },
      );
      const browser = await openBrowser();
      try {
        await browser.page.setContent("<!doctype html><title>placement</title>");
        await browser.page.addScriptTag({ content: code });
        const inBrowser = await browser.page.evaluate(
          (r) => (globalThis as unknown as { placeFromBundle(x: unknown): unknown }).placeFromBundle(r),
          request,
        );
        expect(inBrowser).toEqual(JSON.parse(inNode.stdout));
        expect((inBrowser as { ok: boolean }).ok).toBe(true);
        expect(browser.errors).toEqual([]);
        expect(browser.blocked).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    60_000,
  );

  it.runIf(!haveChromium)(MISSING_CHROMIUM, () => {
    console.warn(MISSING_CHROMIUM);
  });
});
