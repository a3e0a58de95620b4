import { CROSS_FIELD_RULES } from "./rules.js";
import { type AnyKeySpec, FOREIGN_SECTIONS, SCHEMA, SECTION_NAMES } from "./schema.js";

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function code(text: string): string {
  return `\`${text}\``;
}

/**
 * docs/CONFIGURATION.md, rendered from the schema table and the rule list, so the document
 * cannot drift from what the loader accepts. `pnpm --filter @lafs/config gen-docs` writes it.
 */
export function renderConfigurationDoc(): string {
  const out: string[] = [];
  out.push(
    "# Configuration (tahoe.cfg)",
    "",
    "<!-- Generated from packages/config/src/schema.ts and rules.ts by `pnpm --filter @lafs/config gen-docs`. Do not edit by hand. -->",
    "",
    "A node reads `BASEDIR/tahoe.cfg`, the same file Tahoe-LAFS 1.20 reads, with the same INI rules:",
    "",
    "- UTF-8, optionally with a byte order mark at the start.",
    "- `[section]` headers; section names are case-sensitive, key names are not.",
    "- `key = value` or `key: value`; the first `=` or `:` splits; values are trimmed.",
    "- Lines starting with `#` or `;` are comments. There are no inline comments: `key = 1 # one` sets the value `1 # one` (lafs-ts warns).",
    "- A line indented more than its key continues the value (joined with a newline).",
    "- A repeated key: the last one wins (warning). A repeated section: the two are merged (warning).",
    "",
    "Every problem is reported with its file, line, `[section]key`, what is wrong and what is allowed; the node does not start while there is an error.",
    "Booleans accept true/false, yes/no, on/off and 1/0 in any case.",
    "",
  );

  for (const name of SECTION_NAMES) {
    const section = SCHEMA[name];
    out.push(`## [${name}]`, "", section.description, "");
    out.push("| key | allowed | default | description |", "| --- | --- | --- | --- |");
    for (const spec of Object.values(section.keys) as AnyKeySpec[]) {
      let description = spec.description;
      if (spec.emptyMeansUnset) description += " An empty value is the same as no value.";
      if (spec.support) {
        description += ` **${spec.support.severity === "error" ? "Error" : "Warning"} in lafs-ts:** ${spec.support.message}.`;
      }
      out.push(
        `| ${code(spec.name)} | ${cell(spec.allowed)} | ${cell(spec.defaultText)} | ${cell(description)} |`,
      );
    }
    out.push("");
  }

  out.push(
    "## Other sections",
    "",
    "Any other section is an error that lists the known ones. Tahoe-LAFS also accepts these; lafs-ts treats them as follows:",
    "",
  );
  for (const f of FOREIGN_SECTIONS) out.push(`- ${code(f.pattern)}: ${f.description}`);
  out.push("- `[DEFAULT]` (Python's section of defaults for every section): an error.", "");

  out.push(
    "## Rules across keys",
    "",
    "Checked after every value parses; each problem names every key involved with its line.",
    "",
    "From Tahoe-LAFS:",
    "",
  );
  for (const r of CROSS_FIELD_RULES.filter((r) => r.origin === "tahoe-lafs")) out.push(`- ${r.summary}`);
  out.push("", "Stricter in lafs-ts:", "");
  for (const r of CROSS_FIELD_RULES.filter((r) => r.origin === "lafs-ts")) out.push(`- ${r.summary}`);
  out.push("");

  out.push(
    "## private/introducers.yaml",
    "",
    "The introducers a client subscribes to, one entry per petname:",
    "",
    "```yaml",
    "introducers:",
    "  default:",
    "    furl: pb://SPKIHASH@tcp:intro.example:3457/SWISSNUM#v=1",
    "```",
    "",
    "Each `furl` is a NURL (lafs-ts introducers) or a Tahoe-LAFS fURL. `[client]introducer.furl` in tahoe.cfg still works as the petname `default`, with a warning.",
    "",
    "## private/servers.yaml",
    "",
    "Storage servers given locally instead of by an introducer, keyed by server id:",
    "",
    "```yaml",
    "storage:",
    "  v0-SERVERID:",
    "    ann:",
    "      nickname: alpha",
    "      anonymous-storage-NURLs:",
    "        - pb://SPKIHASH@tcp:alpha.example:3457/SWISSNUM#v=1",
    "      permutation-seed-base32: SEED",
    "    connections:",
    "      tcp: tor",
    "```",
    "",
    "`connections: {tcp: tcp | tor | disabled}` overrides `[connections]tcp` for that server only, on every protocol path. With `reveal-IP-address = false`, `tcp: tcp` is an error.",
    "",
  );
  return out.join("\n");
}
