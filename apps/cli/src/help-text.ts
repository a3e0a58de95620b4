import type { OptionSpec } from "./option-parser.js";

const WIDTH = 80;

/** Fills words into lines of at most `width` characters; a longer word gets a line of its own. */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line === "") line = word;
    else if (line.length + 1 + word.length <= width) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}

/** Paragraphs (split at blank lines) wrapped to the terminal width, as Tahoe's wrap_paragraphs. */
export function wrapParagraphs(text: string, width = WIDTH): string {
  return text
    .split(/\n\s*\n/)
    .map((p) => wrapWords(p, width).join("\n"))
    .join("\n\n");
}

function optionLabel(spec: OptionSpec): string {
  const short = spec.short ? `-${spec.short}, ` : "    ";
  return `  ${short}--${spec.name}${spec.takesValue ? "=" : ""}`;
}

/**
 * The option table Twisted prints: `  -n, --nickname=   text [default: x]`, sorted by long name
 * with --help last, descriptions wrapped in a column of their own.
 */
export function formatOptionTable(specs: readonly OptionSpec[], width = WIDTH): string {
  const rows: OptionSpec[] = [...specs].sort((a, b) => a.name.localeCompare(b.name));
  rows.push({ name: "help", short: "h", takesValue: false, help: "Display this help and exit." });
  const labelWidth = Math.min(Math.max(...rows.map((r) => optionLabel(r).length)) + 2, 34);
  const textWidth = Math.max(width - labelWidth, 30);
  const out: string[] = [];
  for (const spec of rows) {
    const label = optionLabel(spec);
    const text = spec.defaultValue === undefined ? spec.help : `${spec.help} [default: ${spec.defaultValue}]`;
    const lines = wrapWords(text, textWidth);
    if (label.length + 2 > labelWidth) {
      out.push(label);
    } else {
      out.push(label.padEnd(labelWidth) + (lines.shift() ?? ""));
    }
    for (const line of lines) out.push(" ".repeat(labelWidth) + line);
  }
  return `${out.join("\n")}\n`;
}
