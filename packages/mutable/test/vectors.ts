import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const VECTORS = join(import.meta.dirname, "../../../../shared/vectors");

export interface MutableStep {
  op: "create" | "overwrite" | "update";
  args: number[];
  plaintext_b64: string | null;
  plaintext_sha256: string;
  plaintext_label: string;
  seqnum: number;
  root_hash_b64: string;
  sdmf_iv_b64: string | null;
  segment_size: number;
  data_length: number;
  k: number;
  n: number;
  signed_prefix_b64: string;
  offsets: Record<string, number>;
  salts_b64_in_call_order: string[];
  pss_salts_b64: string[];
  shares_b64: Record<string, string>;
}

export interface MutableCase {
  name: string;
  format: "SDMF" | "MDMF";
  k: number;
  n: number;
  ssk_json_index: number;
  key_pem: string;
  privkey_pkcs8_der_b64: string;
  pubkey_spki_der_b64: string;
  writekey_b32: string;
  readkey_b32: string;
  storage_index_b32: string;
  fingerprint_b32: string;
  encprivkey_b64: string;
  write_enabler_master_b64: string;
  example_server: {
    tubid_b32: string;
    write_enabler_b64: string;
    client_lease_secret: string;
    renew_secret_b64: string;
    cancel_secret_b64: string;
  };
  caps: { write: string; read: string; verify: string };
  steps: MutableStep[];
}

export function loadMutableCases(): MutableCase[] {
  return (JSON.parse(readFileSync(join(VECTORS, "mutable-shares.json"), "utf8")) as { cases: MutableCase[] })
    .cases;
}

export interface SskVector {
  index: number;
  format: "sdmf" | "mdmf";
  keyPem: string;
  expected: string;
}

export function loadSskVectors(): SskVector[] {
  const raw = JSON.parse(readFileSync(join(VECTORS, "ssk.json"), "utf8")) as {
    format: { params: { format: "sdmf" | "mdmf"; key: string } };
    expected: string;
  }[];
  return raw.map((v, index) => ({
    index,
    format: v.format.params.format,
    keyPem: v.format.params.key,
    expected: v.expected,
  }));
}

/** content(label, size): SHA256("tahoe-spec-content/" ‖ label ‖ "/" ‖ i) for i = 0, 1, ... cut to size. */
export function recipeContent(label: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0, at = 0; at < size; i++, at += 32) {
    createHash("sha256")
      .update(`tahoe-spec-content/${label}/${i}`)
      .digest()
      .copy(out, at, 0, Math.min(32, size - at));
  }
  return out;
}

export function b64(text: string): Buffer {
  return Buffer.from(text, "base64");
}

export function sha256hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The step's plaintext (for an update: the patch bytes written at args[0]), regenerated from the recipe when over 4 KiB. */
export function stepPlaintext(step: MutableStep): Buffer {
  const size = step.op === "update" ? step.args[1]! : step.args[0]!;
  return step.plaintext_b64 !== null ? b64(step.plaintext_b64) : recipeContent(step.plaintext_label, size);
}
