import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");
// A code ends in a letter or digit; a bare prefix such as the one in a template type is not a code.
const CODE = /TAHOE_ERR_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_])/g;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (path.endsWith(".ts")) out.push(path);
  }
  return out;
}

function codesInSource(): Map<string, string> {
  const found = new Map<string, string>();
  for (const group of ["packages", "apps"]) {
    for (const pkg of readdirSync(join(root, group))) {
      const src = join(root, group, pkg, "src");
      try {
        statSync(src);
      } catch {
        continue;
      }
      for (const file of sourceFiles(src)) {
        for (const m of readFileSync(file, "utf8").matchAll(CODE)) {
          if (!found.has(m[0])) found.set(m[0], relative(root, file));
        }
      }
    }
  }
  return found;
}

function codesInDoc(): string[] {
  const doc = readFileSync(join(root, "docs/ERRORS.md"), "utf8");
  return [...doc.matchAll(/^\| `(TAHOE_ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]!);
}

describe("docs/ERRORS.md", () => {
  const source = codesInSource();
  const documented = codesInDoc();

  it("lists every error code the code uses", () => {
    const missing = [...source.keys()]
      .filter((c) => !documented.includes(c))
      .map((c) => `${c} (${source.get(c)})`);
    expect(missing, "codes used in source but missing from docs/ERRORS.md").toEqual([]);
  });

  it("lists no code that the code no longer uses", () => {
    expect(documented.filter((c) => !source.has(c))).toEqual([]);
  });

  it("lists each code once", () => {
    expect(documented.filter((c, i) => documented.indexOf(c) !== i)).toEqual([]);
  });
});
