// Removes compiled files from a package's dist/ whose source is gone, so `pnpm pack` never
// ships a module deleted from src/ (tsc -b leaves old outputs behind). Run as `prepack`
// from the package directory. dist/assets and dist/bundle are build products of their own.
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join, relative } from "node:path";

const KEEP_DIRS = new Set(["assets", "bundle"]);
const OUTPUT = /\.(d\.ts\.map|d\.ts|js\.map|js)$/;

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (dir === "dist" && KEEP_DIRS.has(entry.name)) continue;
      yield* files(path);
    } else yield path;
  }
}

if (existsSync("dist")) {
  for (const file of files("dist")) {
    const base = relative("dist", file).replace(OUTPUT, "");
    if (base === relative("dist", file)) continue;
    if (["ts", "tsx", "mts"].some((ext) => existsSync(join("src", `${base}.${ext}`)))) continue;
    rmSync(file);
    process.stdout.write(`prune-dist: removed ${file} (no src/${base}.ts)\n`);
  }
}
