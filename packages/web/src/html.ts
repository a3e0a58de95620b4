const RAW = Symbol("raw html");

/** Markup that is already safe: built by `html` or passed through `raw` on purpose. */
export interface SafeHtml {
  readonly [RAW]: string;
  toString(): string;
}

function safe(text: string): SafeHtml {
  return { [RAW]: text, toString: () => text };
}

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ENTITIES[ch]!);
}

/** Trusted markup, e.g. a constant; never pass text that came from a request or a peer. */
export function raw(text: string): SafeHtml {
  return safe(text);
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return "";
  if (Array.isArray(value)) return value.map(render).join("");
  if (typeof value === "object" && RAW in value) return (value as SafeHtml)[RAW];
  return escapeHtml(String(value));
}

/**
 * A tagged template that escapes every interpolated value unless it is itself `html` output,
 * so a peer's nickname or a cap can never inject markup.
 */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return safe(out);
}
