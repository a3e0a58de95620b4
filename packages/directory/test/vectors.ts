import { readFileSync } from "node:fs";
import { join } from "node:path";

export const VECTORS = join(import.meta.dirname, "../../../../shared/vectors");

export interface DirnodeChildIn {
  name_as_given: string;
  name_nfc: string;
  rw_uri: string | null;
  ro_uri: string | null;
  metadata: Record<string, unknown>;
}

export interface DirnodeEntryVector {
  name_utf8_hex: string;
  ro_uri_field: string;
  rwcapdata_b64: string;
  metadata_json: string;
  entry_b64: string;
  rw_salt_b64?: string;
  rw_key_b64?: string;
  rw_plaintext?: string;
  rw_mac_b64?: string;
}

export interface UnpackedChild {
  rw_uri: string | null;
  ro_uri: string | null;
  metadata: Record<string, unknown>;
}

export interface DirnodeCase {
  name: string;
  deep_immutable: boolean;
  writekey_b32: string | null;
  children_in: DirnodeChildIn[];
  packed_plaintext_b64: string;
  entries: DirnodeEntryVector[];
  dircap?: string;
  dircap_ro?: string;
  dircap_verify?: string;
  unpacked_as_writer?: Record<string, UnpackedChild>;
  unpacked_as_readonly?: Record<string, UnpackedChild>;
}

export function dirnodeCases(): DirnodeCase[] {
  return (JSON.parse(readFileSync(join(VECTORS, "dirnodes.json"), "utf8")) as { cases: DirnodeCase[] }).cases;
}
