/** One `-----BEGIN LABEL----- ... -----END LABEL-----` block of a PEM file. */
export interface PemBlock {
  label: string;
  /** The DER bytes inside. */
  der: Buffer;
  /** The block as text with "\n" line ends and a final newline. */
  text: string;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\s]*?)-----END \1-----/g;

/** Every well-formed PEM block in `text`, in order. Text between blocks is ignored. */
export function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const label = m[1]!;
    const body = m[2]!.replace(/\s+/g, "");
    const der = Buffer.from(body, "base64");
    out.push({ label, der, text: toPem(label, der) });
  }
  return out;
}

/** DER -> PEM with 64-character lines. */
export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}${lines.length ? "\n" : ""}-----END ${label}-----\n`;
}
