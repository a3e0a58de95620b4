import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CROSS_FIELD_RULES, renderConfigurationDoc, SCHEMA } from "../src/index.js";

const DOC = join(import.meta.dirname, "../../../docs/CONFIGURATION.md");

describe("docs/CONFIGURATION.md", () => {
  const rendered = renderConfigurationDoc();

  it("is the rendered schema (run `pnpm --filter @lafs/config gen-docs` after changing it)", () => {
    const onDisk = readFileSync(DOC, "utf8");
    expect(
      onDisk === rendered,
      "docs/CONFIGURATION.md is stale: run `pnpm --filter @lafs/config gen-docs`",
    ).toBe(true);
  });

  it("documents every section, key, default and rule", () => {
    for (const [name, section] of Object.entries(SCHEMA)) {
      expect(rendered).toContain(`## [${name}]`);
      for (const key of Object.values(section.keys)) {
        expect(rendered).toContain(`| \`${key.name}\` |`);
      }
    }
    expect(rendered).toContain("| `reserved_space` | a byte count such as 1000000");
    expect(rendered).toContain("| `shares.needed` | a whole number from 1 to 256 | 3 |");
    for (const rule of CROSS_FIELD_RULES) expect(rendered).toContain(`- ${rule.summary}`);
    expect(rendered).toContain("## private/servers.yaml");
    expect(rendered).toContain("## private/introducers.yaml");
  });
});
