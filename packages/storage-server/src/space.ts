import { statfs } from "node:fs/promises";

/**
 * Bytes this server may still fill: the file system's space available to unprivileged
 * users, minus `[storage]reserved_space`; 0 when read-only, never negative.
 */
export async function availableSpace(dir: string, reserved: number, readonly: boolean): Promise<number> {
  if (readonly) return 0;
  const s = await statfs(dir);
  return Math.max(0, Number(s.bavail) * Number(s.bsize) - reserved);
}
