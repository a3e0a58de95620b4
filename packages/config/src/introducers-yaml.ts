import {
  type Document,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  stringify,
} from "yaml";
import { parseFurl } from "./furl.js";
import { type ConfigIssue, ConfigValueError } from "./issues.js";
import { parseNurl } from "./nurl.js";

/** One introducer from private/introducers.yaml. */
export interface IntroducerEntry {
  petname: string;
  /** The NURL (or, for a Tahoe-LAFS introducer, the fURL) exactly as written. */
  url: string;
  line?: number;
}

export interface IntroducersYamlResult {
  introducers: IntroducerEntry[];
  errors: ConfigIssue[];
}

/**
 * A YAML file read the way Tahoe-LAFS reads it (PyYAML: YAML 1.1, so `yes` is a boolean), with
 * the syntax errors as line-numbered issues. Duplicate keys are left to the caller, which can
 * name them better than the YAML library.
 */
export interface YamlSource {
  doc: Document.Parsed;
  lineOf(node: Node | null | undefined): number | undefined;
  syntaxErrors: ConfigIssue[];
}

export function readYaml(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { version: "1.1", uniqueKeys: false, lineCounter, prettyErrors: true });
  const syntaxErrors: ConfigIssue[] = doc.errors.map((e) => ({
    file,
    line: e.linePos?.[0].line,
    message: `YAML syntax error: ${e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}`,
    allowed: "fix the YAML syntax (indent with spaces, one 'key: value' per line)",
  }));
  const lineOf = (node: Node | null | undefined) =>
    node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
  return { doc, lineOf, syntaxErrors };
}

/** A mapping key as the user wrote it: YAML 1.1 would turn `yes` or `123` into non-strings. */
export function keyText(key: unknown): string | undefined {
  if (!isScalar(key)) return undefined;
  if (typeof key.source === "string") return key.source;
  return key.value === null || key.value === undefined ? undefined : String(key.value);
}

/** Plain JS for a YAML node, keeping mapping keys as written (see keyText). */
export function toPlain(node: unknown): unknown {
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      const k = keyText(pair.key);
      // defineProperty, so a key named __proto__ stays data instead of replacing the prototype.
      if (k !== undefined) {
        Object.defineProperty(out, k, {
          value: toPlain(pair.value),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
    }
    return out;
  }
  if (isSeq(node)) return node.items.map(toPlain);
  if (isScalar(node)) return node.value;
  return node ?? null;
}

/** Formats data the way PyYAML's safe_dump lays it out (block style, unindented sequences). */
export function dumpYaml(value: unknown): string {
  return stringify(plainMaps(value), { version: "1.1", singleQuote: true, lineWidth: 0, indentSeq: false });
}

/** The YAML 1.1 schema writes a JS Map as `!!omap`, which PyYAML's safe_load refuses; use plain mappings. */
function plainMaps(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plainMaps);
  if (
    value instanceof Map ||
    (typeof value === "object" && value !== null && !(value instanceof Uint8Array))
  ) {
    const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      Object.defineProperty(out, String(k), {
        value: plainMaps(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

/**
 * Checks an introducer URL: a NURL, or a Foolscap fURL from a Tahoe-LAFS grid (kept, so the
 * introducer client can say why it cannot use it). Returns the error to report, if any.
 */
export function checkIntroducerUrl(url: string): ConfigValueError | undefined {
  try {
    parseNurl(url);
    return undefined;
  } catch (nurlError) {
    try {
      parseFurl(url);
      return undefined;
    } catch (furlError) {
      const looksLikeNurl = url.includes("#") || /^pb(\+tor)?:\/\/[A-Za-z0-9_-]{43}@/i.test(url.trim());
      return (looksLikeNurl ? nurlError : furlError) as ConfigValueError;
    }
  }
}

const ENTRY_FORM = "introducers.yaml is 'introducers:' followed by 'PETNAME:' entries, each with 'furl: URL'";

/**
 * Parses private/introducers.yaml (`introducers: {PETNAME: {furl: URL}}`). Never throws on the
 * file's content: every problem is an issue naming the line. An empty file lists no introducers.
 */
export function parseIntroducersYaml(text: string, file: string): IntroducersYamlResult {
  const { doc, lineOf, syntaxErrors } = readYaml(text, file);
  const errors: ConfigIssue[] = [...syntaxErrors];
  const introducers: IntroducerEntry[] = [];
  if (syntaxErrors.length > 0) return { introducers, errors };
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return { introducers, errors };
  if (!isMap(root)) {
    errors.push({ file, line: lineOf(root), message: "the file is not a mapping", allowed: ENTRY_FORM });
    return { introducers, errors };
  }
  let list: unknown;
  for (const pair of root.items) {
    const key = keyText(pair.key);
    if (key === "introducers") list = pair.value;
    else {
      errors.push({
        file,
        line: lineOf(pair.key as Node),
        message: `unknown key '${key}' at the top level`,
        allowed: "only 'introducers' is allowed",
      });
    }
  }
  if (list === undefined || list === null || (isScalar(list) && list.value === null)) {
    return { introducers, errors };
  }
  if (!isMap(list)) {
    errors.push({
      file,
      line: lineOf(list as Node),
      message: "'introducers' is not a mapping",
      allowed: ENTRY_FORM,
    });
    return { introducers, errors };
  }
  const seen = new Map<string, number | undefined>();
  for (const pair of list.items) {
    const petname = keyText(pair.key);
    const line = lineOf(pair.key as Node);
    if (petname === undefined || petname === "") {
      errors.push({ file, line, message: "an introducer has no petname", allowed: ENTRY_FORM });
      continue;
    }
    if (seen.has(petname)) {
      errors.push({
        file,
        line,
        message: `introducer '${petname}' is defined again (first on line ${seen.get(petname)})`,
        allowed: "give each introducer its own petname",
      });
      continue;
    }
    seen.set(petname, line);
    const entry = pair.value;
    if (!isMap(entry)) {
      errors.push({
        file,
        line,
        message: `introducer '${petname}' is not a mapping with 'furl'`,
        allowed: ENTRY_FORM,
      });
      continue;
    }
    let url: string | undefined;
    let ok = true;
    for (const field of entry.items) {
      const name = keyText(field.key);
      const fieldLine = lineOf(field.key as Node);
      if (name !== "furl") {
        errors.push({
          file,
          line: fieldLine,
          message: `introducer '${petname}' has unknown key '${name}'`,
          allowed: "an introducer entry has only 'furl'",
        });
        ok = false;
        continue;
      }
      const value = field.value;
      if (!isScalar(value) || typeof value.value !== "string" || value.value.trim() === "") {
        errors.push({
          file,
          line: fieldLine,
          message: `introducer '${petname}': furl is not a URL string`,
          allowed: "furl: pb://SPKIHASH@HOST:PORT/SWISSNUM#v=1",
        });
        ok = false;
        continue;
      }
      const problem = checkIntroducerUrl(value.value);
      if (problem) {
        errors.push({
          file,
          line: lineOf(value) ?? fieldLine,
          message: `introducer '${petname}': ${problem.message}`,
          allowed: problem.hint,
        });
        ok = false;
        continue;
      }
      url = value.value.trim();
    }
    if (url === undefined) {
      if (ok)
        errors.push({ file, line, message: `introducer '${petname}' has no 'furl'`, allowed: ENTRY_FORM });
      continue;
    }
    if (ok) introducers.push(line === undefined ? { petname, url } : { petname, url, line });
  }
  return { introducers, errors };
}

/**
 * Writes private/introducers.yaml as Tahoe-LAFS 1.20 does (`introducers:\n  default:\n    furl: URL\n`),
 * in the order given. Throws ConfigValueError for an empty or repeated petname
 * (TAHOE_ERR_CONFIG_INTRODUCER_PETNAME) or a URL that is neither a NURL nor a fURL.
 */
export function formatIntroducersYaml(list: readonly { petname: string; url: string }[]): string {
  const introducers = new Map<string, { furl: string }>();
  for (const { petname, url } of list) {
    if (petname === "" || introducers.has(petname)) {
      throw new ConfigValueError(
        "TAHOE_ERR_CONFIG_INTRODUCER_PETNAME",
        petname === ""
          ? "an introducer has an empty petname"
          : `introducer petname '${petname}' is used twice`,
        { hint: "give each introducer its own non-empty petname" },
      );
    }
    const problem = checkIntroducerUrl(url);
    if (problem) throw problem;
    introducers.set(petname, { furl: url.trim() });
  }
  return dumpYaml({ introducers });
}
