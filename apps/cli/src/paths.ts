import { isAbsolute, join, resolve } from "node:path";

/** Paths in messages are quoted as Tahoe-LAFS quotes them, so spaces and odd names stay visible. */
export function quotePath(path: string): string {
  return path.includes("'") ? JSON.stringify(path) : `'${path}'`;
}

/**
 * An absolute path from what the user typed: `~` and `~/x` name the home directory (as in
 * Tahoe's argv_to_abspath, for values the shell did not expand, like `--basedir=~/x`), other
 * relative paths are taken from the working directory.
 */
export function absolutePath(typed: string, cwd: string, homeDir: string): string {
  if (typed === "~") return homeDir;
  if (typed.startsWith("~/")) return join(homeDir, typed.slice(2));
  return isAbsolute(typed) ? resolve(typed) : resolve(cwd, typed);
}

export function defaultNodeDir(homeDir: string): string {
  return join(homeDir, ".tahoe");
}
