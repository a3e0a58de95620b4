import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { type IniSection, parseIni, quoteValue, type SeverityIssue } from "./ini.js";
import type { ConfigIssue } from "./issues.js";
import { ConfigInvalidError } from "./issues.js";
import { checkCrossFieldRules, type RuleServer } from "./rules.js";
import {
  type AnyKeySpec,
  FOREIGN_SECTIONS,
  SCHEMA,
  SECTION_NAMES,
  type SectionName,
  sourceLineKey,
  type TahoeConfig,
} from "./schema.js";
import { parseServersYaml, type StaticServer } from "./servers-yaml.js";
import { parseBooleanValue } from "./values.js";

export interface LoadResult {
  /** Undefined when there are errors. */
  config: TahoeConfig | undefined;
  warnings: ConfigIssue[];
  errors: ConfigIssue[];
}

export interface LoadOptions {
  /** The file name used in every issue. */
  file: string;
  /** Servers from private/servers.yaml, checked against reveal-IP-address. */
  servers?: readonly (StaticServer | RuleServer)[];
  /** The name of the servers.yaml file for issues about servers. */
  serversFile?: string;
}

/** No real tahoe.cfg comes near this; a bigger file is a mistake (a log, a disk image). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The closest known name, if it is close enough to be a typo. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(lower.length / 3)) ? best : undefined;
}

function knownSectionNames(): string[] {
  return [...SECTION_NAMES, ...FOREIGN_SECTIONS.map((f) => f.pattern.slice(1, -1))];
}

function keySpecs(section: SectionName): [field: string, spec: AnyKeySpec][] {
  return Object.entries(SCHEMA[section].keys as Record<string, AnyKeySpec>);
}

/** The issue of a key that is not in its section, with a hint at what was probably meant. */
function unknownKeyIssue(
  file: string,
  section: SectionName,
  entry: { rawKey: string; line: number },
): SeverityIssue {
  const names = keySpecs(section).map(([, s]) => s.name);
  const elsewhere = SECTION_NAMES.find(
    (other) =>
      other !== section &&
      keySpecs(other).some(([, s]) => s.name.toLowerCase() === entry.rawKey.toLowerCase()),
  );
  const guess = closestName(entry.rawKey, names);
  let message = `unknown key ${quoteValue(entry.rawKey)} in [${section}]`;
  if (elsewhere !== undefined) message += `: it belongs in [${elsewhere}]`;
  else if (guess !== undefined) message += `: did you mean ${guess}?`;
  return {
    severity: "error",
    file,
    line: entry.line,
    section,
    key: entry.rawKey,
    message,
    allowed: `the keys of [${section}] are ${names.join(", ")}`,
  };
}

function checkForeignSection(file: string, section: IniSection, issues: SeverityIssue[]): boolean {
  const spec = FOREIGN_SECTIONS.find((f) => f.matches(section.name));
  if (!spec) return false;
  let enabled = false;
  const entry = section.entries.find((e) => e.key === "enabled");
  if (entry) {
    try {
      enabled = parseBooleanValue(entry.value);
    } catch {
      // An unreadable switch of a section we refuse anyway: treat it as asking for the feature.
      enabled = true;
    }
  }
  const verdict = spec.verdict(enabled);
  issues.push({
    severity: verdict.severity,
    file,
    line: entry && verdict.severity === "error" ? entry.line : section.line,
    section: section.name,
    key: entry && verdict.severity === "error" ? "enabled" : undefined,
    message: verdict.message,
    allowed: verdict.severity === "error" ? "remove the section, or set enabled = false" : undefined,
  });
  return true;
}

function zodMessage(error: { issues: readonly { message: string }[] }): string {
  return error.issues.map((i) => i.message).join("; ");
}

/** Parses the keys of the known sections into typed values; defaults fill the rest. */
function buildConfig(file: string, sections: IniSection[], issues: SeverityIssue[]) {
  const config: Record<string, Record<string, unknown>> = {};
  const lines: Record<string, number> = {};
  const failed = new Set<string>();
  for (const name of SECTION_NAMES) {
    config[name] = Object.fromEntries(keySpecs(name).map(([field, spec]) => [field, spec.default]));
  }
  for (const section of sections) {
    if (section.name in SCHEMA) {
      const name = section.name as SectionName;
      lines[sourceLineKey(name)] = section.line;
      const specs = keySpecs(name);
      for (const entry of section.entries) {
        const found = specs.find(([, s]) => s.name.toLowerCase() === entry.key);
        if (!found) {
          issues.push(unknownKeyIssue(file, name, entry));
          continue;
        }
        const [field, spec] = found;
        lines[sourceLineKey(name, spec.name)] = entry.line;
        if (entry.value === "" && spec.emptyMeansUnset) continue;
        const parsed = spec.value.safeParse(entry.value);
        if (!parsed.success) {
          failed.add(sourceLineKey(name, spec.name));
          issues.push({
            severity: "error",
            file,
            line: entry.line,
            section: name,
            key: spec.name,
            message: zodMessage(parsed.error),
            allowed: spec.allowed,
          });
          continue;
        }
        config[name]![field] = parsed.data;
        if (spec.support?.when(parsed.data)) {
          issues.push({
            severity: spec.support.severity,
            file,
            line: entry.line,
            section: name,
            key: spec.name,
            message: spec.support.message,
            allowed: spec.support.severity === "error" ? spec.allowed : undefined,
          });
        }
      }
    } else if (section.name === "DEFAULT") {
      issues.push({
        severity: "error",
        file,
        line: section.line,
        section: section.name,
        message: "the [DEFAULT] section (whose keys Python copies into every section) is not supported",
        allowed: "write each key in its own section",
      });
    } else if (!checkForeignSection(file, section, issues)) {
      const guess = closestName(section.name, SECTION_NAMES);
      issues.push({
        severity: "error",
        file,
        line: section.line,
        section: section.name,
        message: `unknown section [${section.name}]${guess !== undefined ? `: did you mean [${guess}]?` : ""}`,
        allowed: `the sections are ${knownSectionNames()
          .map((n) => `[${n}]`)
          .join(", ")}`,
      });
    }
  }
  return { config: { ...config, sourceLines: lines } as unknown as TahoeConfig, failed };
}

function split(all: SeverityIssue[]): { errors: ConfigIssue[]; warnings: ConfigIssue[] } {
  const strip = ({ severity: _, ...issue }: SeverityIssue): ConfigIssue => issue;
  return {
    errors: all.filter((i) => i.severity === "error").map(strip),
    warnings: all.filter((i) => i.severity === "warning").map(strip),
  };
}

/**
 * Loads tahoe.cfg text: INI syntax, every key's value, then the cross-field rules. Pure, and
 * never throws on user input: each problem is an issue with file, line, [section]key, what is
 * wrong and what is allowed. `config` is undefined as soon as there is one error.
 */
export function loadTahoeCfgText(text: string, options: LoadOptions): LoadResult {
  const { file } = options;
  if (text.length > MAX_CONFIG_BYTES) {
    return {
      config: undefined,
      warnings: [],
      errors: [
        {
          file,
          message: `the file is ${text.length} characters long`,
          allowed: `at most ${MAX_CONFIG_BYTES}`,
        },
      ],
    };
  }
  const ini = parseIni(text, file);
  const issues = [...ini.issues];
  const { config, failed } = buildConfig(file, ini.sections, issues);
  issues.push(
    ...checkCrossFieldRules(
      {
        config,
        file,
        servers: options.servers ?? [],
        serversFile: options.serversFile ?? "private/servers.yaml",
      },
      failed,
    ),
  );
  const { errors, warnings } = split(issues);
  errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  warnings.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return { config: errors.length === 0 ? config : undefined, warnings, errors };
}

/**
 * Decodes tahoe.cfg bytes as UTF-8 (a leading BOM is allowed, as Tahoe-LAFS reads it with
 * utf-8-sig). Lines that are not valid UTF-8 become errors naming the line, so the rest of the
 * file is still checked.
 */
export function decodeConfigBytes(bytes: Uint8Array, file: string): { text: string; errors: ConfigIssue[] } {
  const errors: ConfigIssue[] = [];
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    errors.push({ file, line: 1, message: "the file is UTF-16 encoded", allowed: "save it as UTF-8" });
    return { text: "", errors };
  }
  const strict = new TextDecoder("utf-8", { fatal: true });
  let start = 0;
  let line = 1;
  while (start <= bytes.length && errors.length < 20) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    try {
      strict.decode(bytes.subarray(start, end));
    } catch {
      errors.push({ file, line, message: "the line is not valid UTF-8", allowed: "save the file as UTF-8" });
    }
    start = end + 1;
    line++;
  }
  return { text: new TextDecoder("utf-8").decode(bytes), errors };
}

/** loadTahoeCfgText for raw file bytes: encoding problems are issues too. */
export function loadTahoeCfgBytes(bytes: Uint8Array, options: LoadOptions): LoadResult {
  if (bytes.length > MAX_CONFIG_BYTES) {
    return {
      config: undefined,
      warnings: [],
      errors: [
        {
          file: options.file,
          message: `the file is ${bytes.length} bytes long`,
          allowed: `at most ${MAX_CONFIG_BYTES} bytes`,
        },
      ],
    };
  }
  const { text, errors } = decodeConfigBytes(bytes, options.file);
  const result = loadTahoeCfgText(text, options);
  if (errors.length === 0) return result;
  // A line with bad bytes was read with replacement characters; its own issues are dropped as noise.
  const badLines = new Set(errors.map((e) => e.line));
  const keep = (i: ConfigIssue) => i.file !== options.file || !badLines.has(i.line);
  return {
    config: undefined,
    warnings: result.warnings.filter(keep),
    errors: [...errors, ...result.errors.filter(keep)].sort((a, b) => (a.line ?? 0) - (b.line ?? 0)),
  };
}

async function readIfPresent(
  path: string,
): Promise<{ bytes: Uint8Array } | { missing: true } | { problem: string } | { tooBig: number }> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return { problem: "is not a regular file" };
    if (info.size > MAX_CONFIG_BYTES) return { tooBig: info.size };
    return { bytes: await readFile(path) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { missing: true };
    return { problem: `cannot be read (${code ?? String(err)})` };
  }
}

/**
 * Reads BASEDIR/tahoe.cfg and, when present, BASEDIR/private/servers.yaml (whose issues are
 * merged, naming that file). Never throws on what it finds on disk.
 */
export async function loadNodeConfig(basedir: string): Promise<LoadResult> {
  const cfgFile = join(basedir, "tahoe.cfg");
  const serversFile = join(basedir, "private", "servers.yaml");
  const cfg = await readIfPresent(cfgFile);
  if (!("bytes" in cfg)) {
    const message =
      "missing" in cfg
        ? "the file does not exist"
        : "tooBig" in cfg
          ? `the file is ${cfg.tooBig} bytes long`
          : `the file ${cfg.problem}`;
    const allowed =
      "missing" in cfg
        ? `a node directory holds tahoe.cfg: is ${basedir} the right directory? (create one with tahoe create-node)`
        : "tooBig" in cfg
          ? `at most ${MAX_CONFIG_BYTES} bytes`
          : "a readable tahoe.cfg file";
    return { config: undefined, warnings: [], errors: [{ file: cfgFile, message, allowed }] };
  }

  const errors: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  let servers: StaticServer[] = [];
  const yaml = await readIfPresent(serversFile);
  if ("bytes" in yaml) {
    const decoded = decodeConfigBytes(yaml.bytes, serversFile);
    errors.push(...decoded.errors);
    if (decoded.errors.length === 0) {
      const parsed = parseServersYaml(decoded.text, serversFile);
      servers = parsed.servers;
      errors.push(...parsed.errors);
      warnings.push(...parsed.warnings);
    }
  } else if (!("missing" in yaml)) {
    errors.push({
      file: serversFile,
      message: "tooBig" in yaml ? `the file is ${yaml.tooBig} bytes long` : `the file ${yaml.problem}`,
      allowed: "tooBig" in yaml ? `at most ${MAX_CONFIG_BYTES} bytes` : "a readable YAML file",
    });
  }

  const result = loadTahoeCfgBytes(cfg.bytes, { file: cfgFile, servers, serversFile });
  const allErrors = [...result.errors, ...errors];
  return {
    config: allErrors.length === 0 ? result.config : undefined,
    warnings: [...result.warnings, ...warnings],
    errors: allErrors,
  };
}

/** For callers that want a throw: ConfigInvalidError carrying every error, else the config. */
export function assertValidConfig(result: LoadResult): TahoeConfig {
  if (result.errors.length > 0 || result.config === undefined) {
    throw new ConfigInvalidError(result.errors);
  }
  return result.config;
}
