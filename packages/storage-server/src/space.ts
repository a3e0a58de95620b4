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

/**
 * Whether a file-system error came from a full disk though its code does not say so: Node's
 * recursive mkdir reports a parent directory's ENOSPC as ENOENT. True when no block or no inode is left.
 */
export async function failedForLackOfRoom(error: unknown, dir: string): Promise<boolean> {
  const syscall = (error as NodeJS.ErrnoException | undefined)?.syscall;
  if (syscall === undefined) return false;
  try {
    const s = await statfs(dir);
    return s.bavail === 0 || s.ffree === 0;
  } catch {
    return false;
  }
}
