import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

export const run = promisify(execFile);
export const ROOT = join(import.meta.dirname, "../..");

/** Every workspace package that is published: packages/* and apps/*. */
export function workspacePackageDirs(): string[] {
  return ["packages", "apps"].flatMap((group) =>
    readdirSync(join(ROOT, group))
      .filter((name) => existsSync(join(ROOT, group, name, "package.json")))
      .map((name) => join(ROOT, group, name)),
  );
}

export interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  repository?: { type: string; url: string; directory: string };
  homepage?: string;
  publishConfig?: { access?: string };
  files?: string[];
  exports?: Record<string, { types?: string; default?: string }>;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  [key: string]: unknown;
}

export function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest;
}

/** Node's lookup of `dep` from `dir`: the nearest node_modules/dep up the tree, real path. */
function resolvePackageDir(dir: string, dep: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    const candidate = join(d, "node_modules", dep);
    if (existsSync(join(candidate, "package.json"))) return realpathSync(candidate);
    if (dirname(d) === d) return undefined;
  }
}

/**
 * The third-party packages the workspace packages need at run time (dependencies and the
 * optional ones installed here, transitively), as pnpm installed them: name@version -> dir.
 */
export function thirdPartyClosure(dirs: readonly string[]): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (dir: string) => {
    const manifest = readManifest(dir);
    const deps = { ...manifest.dependencies, ...manifest.optionalDependencies };
    for (const dep of Object.keys(deps)) {
      if (dep.startsWith("@lafs/")) continue;
      const at = resolvePackageDir(dir, dep);
      if (!at) {
        if (manifest.optionalDependencies?.[dep] !== undefined) continue;
        throw new Error(`${manifest.name} needs ${dep}, which is not installed`);
      }
      const found_ = readManifest(at);
      const key = `${found_.name}@${found_.version}`;
      if (found.has(key)) continue;
      found.set(key, at);
      walk(at);
    }
  };
  for (const dir of dirs) walk(dir);
  return found;
}

/** An npm tarball (package/ prefix) of a package directory as pnpm's store holds it. */
export async function tarPackageDir(dir: string, out: string): Promise<void> {
  await run("tar", [
    "-czf",
    out,
    "-C",
    dir,
    "--exclude=./node_modules",
    // pnpm's store hard-links identical files; npm's extractor skips hard-link entries.
    "--hard-dereference",
    "--transform",
    "s,^\\.,package,",
    ".",
  ]);
}

export interface LoopbackRegistry {
  url: string;
  /** Every path npm asked for, and whether it was served. */
  requests: { path: string; served: boolean }[];
  close(): Promise<void>;
}

/**
 * A read-only npm registry on 127.0.0.1 serving exactly the given tarballs (name, version,
 * manifest), so npm resolves every range without the network; anything else is a 404.
 */
export async function startLoopbackRegistry(
  tarballs: { manifest: Manifest; file: string }[],
): Promise<LoopbackRegistry> {
  const byName = new Map<string, { manifest: Manifest; file: string; bytes: Buffer }[]>();
  for (const t of tarballs) {
    const list = byName.get(t.manifest.name) ?? [];
    list.push({ ...t, bytes: readFileSync(t.file) });
    byName.set(t.manifest.name, list);
  }
  const requests: LoopbackRegistry["requests"] = [];
  let base = "";
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? "/").split("?")[0]!);
    const tarball = /^\/-\/tarball\/(.+)\/([^/]+)\.tgz$/.exec(path);
    if (tarball) {
      const entry = byName.get(tarball[1]!)?.find((e) => e.manifest.version === tarball[2]);
      requests.push({ path, served: entry !== undefined });
      if (!entry) return res.writeHead(404).end();
      return res.writeHead(200, { "content-type": "application/octet-stream" }).end(entry.bytes);
    }
    const name = path.slice(1);
    const entries = byName.get(name);
    requests.push({ path, served: entries !== undefined });
    if (!entries)
      return res.writeHead(404, { "content-type": "application/json" }).end('{"error":"not found"}');
    const versions: Record<string, unknown> = {};
    for (const e of entries) {
      versions[e.manifest.version] = {
        ...e.manifest,
        _id: `${name}@${e.manifest.version}`,
        dist: {
          tarball: `${base}/-/tarball/${name}/${e.manifest.version}.tgz`,
          integrity: `sha512-${createHash("sha512").update(e.bytes).digest("base64")}`,
          shasum: createHash("sha1").update(e.bytes).digest("hex"),
        },
      };
    }
    const latest = entries
      .map((e) => e.manifest.version)
      .sort(compareVersions)
      .at(-1)!;
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ name, "dist-tags": { latest }, versions }));
  });
  server.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${base}/`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  }
  return 0;
}

/** The environment for npm and node in the scratch project: no npm_config_* from pnpm. */
export function cleanEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(npm_|pnpm_|PNPM_|NODE_OPTIONS$|NODE_PATH$|VITEST|TURBO)/i.test(k)) env[k] = v;
  }
  return { ...env, HOME: home, NO_UPDATE_NOTIFIER: "1" };
}
