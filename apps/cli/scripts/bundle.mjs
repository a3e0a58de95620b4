// Bundles the compiled CLI (dist/main.js and everything it imports) into dist/bundle/, so
// `tahoe` starts by reading a few files instead of resolving and compiling ~750 modules one by
// one (the ESM loader's per-module cost is most of `tahoe run`'s start-up). Dynamic imports stay
// separate chunks, so a verb still loads only what it uses. bin/tahoe.js runs the bundle only
// while dist/bundle/inputs.json says every workspace file it was made from is unchanged.
import { createHash } from "node:crypto";
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const cliDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repoRoot = resolve(cliDir, "..", "..");
const outDir = resolve(cliDir, "dist", "bundle");

const esbuild = createRequire(import.meta.url)("esbuild");

// Workspace packages resolve (through pnpm's links) to their real paths outside node_modules.
const isWorkspaceFile = (path) => !path.split("\\").join("/").includes("/node_modules/");

/**
 * Workspace modules find files next to themselves (package.json for the version, the simulator's
 * browser script, bin/tahoe.js) through import.meta.url: inside the bundle it must still name the
 * original file, relative to the chunk so the checkout can move.
 */
const keepImportMetaUrl = {
  name: "keep-import-meta-url",
  setup(build) {
    build.onLoad({ filter: /\.js$/ }, async (args) => {
      if (!isWorkspaceFile(args.path)) return undefined;
      const text = await readFile(args.path, "utf8");
      if (!text.includes("import.meta.url")) return undefined;
      const fromChunk = relative(outDir, args.path).split("\\").join("/");
      const url = `new URL(${JSON.stringify(fromChunk)}, import.meta.url).href`;
      return { contents: text.replaceAll("import.meta.url", url), loader: "js" };
    });
  },
};

// Chunk names change with their content: old ones would pile up.
rmSync(outDir, { recursive: true, force: true });
const result = await esbuild.build({
  entryPoints: { main: resolve(cliDir, "dist", "main.js") },
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  outdir: outDir,
  chunkNames: "chunk-[hash]",
  metafile: true,
  logLevel: "warning",
  // CommonJS dependencies (fastify and its plugins) call require() for Node's own modules.
  banner: {
    js: 'import { createRequire as __lafsCreateRequire } from "node:module"; const require = __lafsCreateRequire(import.meta.url);',
  },
  plugins: [keepImportMetaUrl],
  // V8 keeps every loaded chunk's source text on the heap (5.1 MB of it unminified, 3.5 MB
  // without whitespace): about 8 MB less RSS for a running node (docs/performance.md, "Issue
  // 23"). Names are kept, so stack traces still name functions; TAHOE_NO_BUNDLE=1 gives lines.
  minifyWhitespace: true,
  minifySyntax: true,
});

// The freshness record: every workspace input with its modification time and content hash at
// bundle time. bin/tahoe.js hashes only files whose time moved (a package rebuilt with the same
// output, or restored from turbo's cache, keeps the bundle in use; changed code never runs stale).
const inputs = Object.keys(result.metafile.inputs)
  .map((path) => resolve(process.cwd(), path))
  .filter(isWorkspaceFile)
  .map((path) => [
    relative(cliDir, path),
    statSync(path).mtimeMs,
    createHash("sha256").update(readFileSync(path)).digest("base64"),
  ]);
writeFileSync(resolve(outDir, "inputs.json"), `${JSON.stringify(inputs)}\n`);
process.stdout.write(`bundled ${inputs.length} workspace modules into ${relative(repoRoot, outDir)}\n`);
