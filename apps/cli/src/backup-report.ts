import type { SkipReason } from "./backup-walk.js";

// What `tahoe backup` prints, in Tahoe-LAFS's words (tahoe_backup.py's BackupProgress and BackupComplete).

/** The counts of Tahoe's BackupProgress and BackupComplete. */
export interface Counts {
  filesCreated: number;
  filesReused: number;
  filesSkipped: number;
  directoriesCreated: number;
  directoriesReused: number;
  directoriesSkipped: number;
  filesChecked: number;
  directoriesChecked: number;
}

/** How many entries are done, for "Backing up N/T". */
export function targetsDone(c: Counts): number {
  return (
    c.filesCreated +
    c.filesReused +
    c.filesSkipped +
    c.directoriesCreated +
    c.directoriesReused +
    c.directoriesSkipped
  );
}

/** Tahoe's progress report: "Backing up N/T... 0h 1m 2s elapsed...". */
export function progressReport(c: Counts, total: number, elapsedMs: number): string {
  const seconds = Math.floor(elapsedMs / 1000);
  const elapsed = `${Math.floor(seconds / 3600)}h ${Math.floor(seconds / 60) % 60}m ${seconds % 60}s`;
  return `Backing up ${targetsDone(c)}/${total}... ${elapsed} elapsed...`;
}

/** str(datetime.timedelta) without the microseconds: "0:00:07", "1 day, 2:03:04". */
export function formatElapsed(ms: number): string {
  const total = Math.floor(ms / 1000);
  const days = Math.floor(total / 86400);
  const h = Math.floor(total / 3600) % 24;
  const m = String(Math.floor(total / 60) % 60).padStart(2, "0");
  const s = String(total % 60).padStart(2, "0");
  const clock = `${h}:${m}:${s}`;
  return days === 0 ? clock : `${days} day${days === 1 ? "" : "s"}, ${clock}`;
}

/** Tahoe's archive name: iso_utc(int(time.time()), sep="_") + "Z". */
export function archiveName(nowMs: number): string {
  return `${new Date(Math.floor(nowMs / 1000) * 1000).toISOString().slice(0, 19).replace("T", "_")}Z`;
}

export const SKIP_WARNINGS: Record<SkipReason, (kind: string, path: string) => string> = {
  permission: (kind, path) => `WARNING: permission denied on ${kind} ${path}`,
  encoding: (kind, path) => `WARNING: could not list ${kind} ${path} due to a filename encoding error`,
  symlink: (_kind, path) => `WARNING: cannot backup symlink ${path}`,
  special: (_kind, path) => `WARNING: cannot backup special ${path}`,
};

/** Tahoe's BackupComplete.report: the counts line, with -v the checks line, then the time. */
export function summary(counts: Counts, verbose: boolean, elapsedMs: number): string {
  const c = counts;
  const lines = [
    ` ${c.filesCreated} files uploaded (${c.filesReused} reused), ${c.filesSkipped} files skipped, ` +
      `${c.directoriesCreated} directories created (${c.directoriesReused} reused), ${c.directoriesSkipped} directories skipped`,
  ];
  if (verbose) lines.push(` ${c.filesChecked} files checked, ${c.directoriesChecked} directories checked`);
  lines.push(` backup done, elapsed time: ${formatElapsed(elapsedMs)}`);
  return `${lines.join("\n")}\n`;
}
