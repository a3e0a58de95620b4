import type { ConfigIssue } from "./issues.js";

/** One `key = value` of a tahoe.cfg section. */
export interface IniEntry {
  /** Lower-cased, as Python's configparser stores it: keys are case-insensitive. */
  key: string;
  /** The key as the user wrote it, for messages. */
  rawKey: string;
  /** Trimmed; continuation lines joined with "\n". */
  value: string;
  line: number;
}

export interface IniSection {
  /** Case-sensitive, as in Python's configparser. */
  name: string;
  /** The line of the first header of this section (repeated headers are merged into it). */
  line: number;
  /** In file order; a repeated key keeps only its last entry, at the position of the last one. */
  entries: IniEntry[];
}

export type IssueSeverity = "error" | "warning";

/** A ConfigIssue that also says whether it refuses the file or only warns. */
export interface SeverityIssue extends ConfigIssue {
  severity: IssueSeverity;
}

export interface IniParseResult {
  sections: IniSection[];
  issues: SeverityIssue[];
}

/** Longer values are refused: no real setting comes close, and messages must stay printable. */
export const MAX_VALUE_LENGTH = 64 * 1024;

const SECTION_HEADER = /^\[(.+)\]/s;
// Python's OPTCRE: the shortest key before the first "=" or ":".
const OPTION_LINE = /^(.*?)\s*([=:])\s*(.*)$/s;

/** Shortens a value for a message, so a 1 MB line does not become a 1 MB message. */
export function quoteValue(value: string, max = 60): string {
  const shown = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(shown);
}

function describeChar(ch: string): string {
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** The first C0 control character other than tab (and DEL), which no tahoe.cfg line should hold. */
function findControl(line: string): { index: number; char: string } | undefined {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return { index: i, char: line[i]! };
  }
  return undefined;
}

/** Python's str.isspace()-based indentation: the index of the first non-space character. */
function indentOf(line: string): number {
  const m = /\S/.exec(line);
  return m ? m.index : 0;
}

/**
 * Reads tahoe.cfg with the semantics of Python's configparser as Tahoe-LAFS uses it
 * (strict=False, no interpolation, "#" and ";" full-line comments, "=" or ":" delimiters,
 * indented continuation lines, empty lines allowed inside values). It never throws: every
 * problem becomes an issue with its line, and parsing goes on so the user sees all of them.
 */
export function parseIni(text: string, file: string): IniParseResult {
  const issues: SeverityIssue[] = [];
  const sections = new Map<string, IniSection>();
  const order: IniSection[] = [];
  const error = (line: number, message: string, allowed?: string, section?: string, key?: string) =>
    issues.push({ severity: "error", file, line, section, key, message, allowed });
  const warning = (line: number, message: string, allowed?: string, section?: string, key?: string) =>
    issues.push({ severity: "warning", file, line, section, key, message, allowed });

  // Only a leading BOM is a byte order mark (Tahoe decodes with utf-8-sig).
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const lines = body.split("\n");
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();

  let current: IniSection | undefined;
  // The entry being continued, with its pieces; undefined after a header or at the start.
  let pending: { entry: IniEntry; parts: string[]; section: IniSection } | undefined;
  let indentLevel = 0;

  const finishPending = () => {
    if (!pending) return;
    // Python joins continuation pieces with "\n" and drops trailing empty lines.
    pending.entry.value = pending.parts.join("\n").trimEnd();
    if (pending.entry.value.length > MAX_VALUE_LENGTH) {
      error(
        pending.entry.line,
        `value is ${pending.entry.value.length} characters long`,
        `at most ${MAX_VALUE_LENGTH} characters`,
        pending.section.name,
        pending.entry.key,
      );
    }
    pending = undefined;
  };

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = lines[i]!;
    if (line.endsWith("\r")) line = line.slice(0, -1);

    // Tahoe reads the file as one line per "\n": a stray CR or BOM silently changes what
    // the line means there, so they are refused here rather than guessed at.
    if (line.includes("\r")) {
      error(
        lineNo,
        "line contains a carriage return (CR) that is not part of a CRLF line end",
        "save the file with LF or CRLF line ends",
      );
      continue;
    }
    if (line.includes("\uFEFF")) {
      error(
        lineNo,
        "byte order mark (U+FEFF) in the middle of the file",
        "only at the very start of the file",
      );
      continue;
    }
    const ctl = findControl(line);
    if (ctl) {
      error(
        lineNo,
        `line contains the control character ${describeChar(ctl.char)} at column ${ctl.index + 1}`,
        "printable text and tabs only",
      );
      continue;
    }

    const stripped = line.trim();
    if (stripped.startsWith("#") || stripped.startsWith(";")) continue;
    if (stripped === "") {
      // configparser keeps empty lines inside a value; trailing ones are dropped on join.
      if (pending) pending.parts.push("");
      continue;
    }

    const indent = indentOf(line);
    if (pending && indent > indentLevel) {
      pending.parts.push(stripped);
      continue;
    }
    finishPending();
    indentLevel = indent;

    const header = SECTION_HEADER.exec(stripped);
    if (header) {
      // Python's header pattern is greedy and unanchored at the end: "[a] x" is section "a".
      const closing = stripped.lastIndexOf("]");
      const name = header[1]!;
      const trailing = stripped.slice(closing + 1).trim();
      if (trailing !== "") {
        warning(
          lineNo,
          `text ${quoteValue(trailing)} after the section header is ignored`,
          "put comments on their own line",
          name,
        );
      }
      if (name !== name.trim()) {
        error(
          lineNo,
          `section name ${quoteValue(name)} has spaces around it, so it is not [${name.trim()}]`,
          `write [${name.trim()}]`,
          name,
        );
      }
      const existing = sections.get(name);
      if (existing) {
        warning(
          lineNo,
          `section [${name}] appears again (first at line ${existing.line}); its keys are merged`,
          "write each section once",
          name,
        );
        current = existing;
      } else {
        current = { name, line: lineNo, entries: [] };
        sections.set(name, current);
        order.push(current);
      }
      continue;
    }

    if (stripped.startsWith("[")) {
      error(lineNo, `malformed section header ${quoteValue(stripped)}`, "a header looks like [node]");
      continue;
    }

    const option = OPTION_LINE.exec(stripped);
    if (!current) {
      error(
        lineNo,
        option
          ? `key ${quoteValue(option[1]!)} appears before any [section] header`
          : `line ${quoteValue(stripped)} appears before any [section] header`,
        "start the file with a section header such as [node]",
      );
      continue;
    }
    if (!option || option[1]!.trim() === "") {
      error(
        lineNo,
        option
          ? `line ${quoteValue(stripped)} has no key name`
          : `line ${quoteValue(stripped)} is not "key = value"`,
        'a "key = value" line, a [section] header, or a comment starting with # or ;',
        current.name,
      );
      continue;
    }

    const rawKey = option[1]!.trimEnd();
    const key = rawKey.toLowerCase();
    const value = option[3]!.trim();
    const previous = current.entries.findIndex((e) => e.key === key);
    if (previous >= 0) {
      warning(
        lineNo,
        `key appears again in [${current.name}] (first at line ${current.entries[previous]!.line}); the last value wins`,
        "write each key once",
        current.name,
        key,
      );
      current.entries.splice(previous, 1);
    }
    const entry: IniEntry = { key, rawKey, value, line: lineNo };
    current.entries.push(entry);
    pending = { entry, parts: [value], section: current };
  }
  finishPending();

  for (const section of order) {
    for (const entry of section.entries) {
      // Python keeps an inline "#" in the value; users nearly always meant a comment.
      if (/\s[#;]/.test(entry.value)) {
        warning(
          entry.line,
          `value ${quoteValue(entry.value)} contains " #" or " ;": tahoe.cfg has no inline comments, so it is part of the value`,
          "put comments on their own line",
          section.name,
          entry.key,
        );
      }
    }
  }
  return { sections: order, issues };
}
