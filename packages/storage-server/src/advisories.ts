import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ShareKind } from "./share-files.js";

/** Stores a client's corruption report as Tahoe does: one text file per report. */
export async function writeCorruptionAdvisory(
  dir: string,
  nowMs: number,
  kind: ShareKind,
  si: string,
  shnum: number,
  reason: string,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  // No colons: the directory may be copied to systems that refuse them in names.
  const stamp = new Date(nowMs).toISOString().replace(/:/g, "").replace(/Z$/, "");
  const text = `report: Share Corruption\ntype: ${kind}\nstorage_index: ${si}\nshare_number: ${shnum}\n\n${reason}\n`;
  for (let n = 0; ; n++) {
    const path = join(dir, `${stamp}--${si}-${shnum}${n === 0 ? "" : `.${n}`}`);
    try {
      await writeFile(path, text, { flag: "wx", mode: 0o600 });
      return path;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || n > 100) throw error;
    }
  }
}
