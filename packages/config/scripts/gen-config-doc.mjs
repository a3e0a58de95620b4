// Writes docs/CONFIGURATION.md from the built schema (run `tsc -b` first; the gen-docs script does).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderConfigurationDoc } from "../dist/index.js";

const target = join(import.meta.dirname, "../../../docs/CONFIGURATION.md");
writeFileSync(target, renderConfigurationDoc());
process.stdout.write(`wrote ${target}\n`);
