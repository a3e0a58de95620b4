// Bundles browser/simulator.ts (with @lafs/placement) into dist/assets/simulator.js, which the
// simulator page serves from the node's own origin. No source map: it would carry build paths.
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));

await build({
  absWorkingDir: root,
  entryPoints: ["browser/simulator.ts"],
  outfile: "dist/assets/simulator.js",
  bundle: true,
  format: "iife",
  platform: "browser",
  target: ["es2022"],
  minify: true,
  sourcemap: false,
  legalComments: "none",
  charset: "utf8",
  logLevel: "warning",
});
