import { redactUrlSecret } from "@lafs/config";

const SECRET_KEY = /secret|key|swissnum|password|token/i;
const CAP = /\bURI:(CHK|LIT|SSK|MDMF|DIR2[A-Z0-9-]*|CHK-Verifier|SSK-RO|MDMF-RO)[A-Za-z0-9:-]*/g;
const URL_WITH_SECRET = /\b(pb|https?):\/\/[^\s"']+/g;

/**
 * Hides what must never reach a log reader: capability strings (they are the file's key),
 * swissnums in NURLs/fURLs, and the value of any field whose name says it is a secret.
 */
export function redactText(text: string): string {
  return text
    .replace(CAP, (_m, kind: string) => `URI:${kind}:<redacted>`)
    .replace(URL_WITH_SECRET, (url) => redactUrlSecret(url));
}

export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactText(value);
  if (value instanceof Error) {
    return { type: value.name, message: redactText(value.message), code: (value as { code?: unknown }).code };
  }
  if (value === null || typeof value !== "object") return value;
  // Log fields are small; a deep or cyclic object is cut rather than walked forever.
  if (depth > 6) return "<too deep>";
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) ? "<redacted>" : redactValue(v, depth + 1);
  }
  return out;
}

export function redactFields(fields: Record<string, unknown>): Record<string, unknown> {
  return redactValue(fields) as Record<string, unknown>;
}
