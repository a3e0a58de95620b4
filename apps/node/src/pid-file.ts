import { readFileSync } from "node:fs";
import { mkdir, open, rmdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { NODE_FILES, readTextIfPresent } from "@lafs/config";
import { errnoCode, NodeError } from "./errors.js";

/** Held while the node runs: releasing it removes BASEDIR/running.process. */
export interface NodeLock {
  readonly path: string;
  release(): Promise<void>;
}

/** What running.process says: Tahoe-LAFS 1.20 writes "PID CREATE_TIME\n" (psutil's create_time). */
export interface PidFileContent {
  pid: number;
  /** Seconds since the epoch when the process started; absent in the older pid-only form. */
  startTime?: number;
}

/** Linux's USER_HZ; psutil divides /proc/PID/stat's start ticks by the same value. */
const CLOCK_TICKS = 100;
/** How far two readings of one process's start time may differ (rounding of ticks and btime). */
const START_TIME_SLACK_SECONDS = 1;
const MAX_ATTEMPTS = 50;
const TAKEOVER_WAIT_MS = 20;
/** A takeover directory older than this was left by a start that died mid-takeover. */
const TAKEOVER_STALE_MS = 10_000;

/**
 * When process `pid` started, in seconds since the epoch, computed as psutil does on Linux
 * (boot time + start ticks / CLOCK_TICKS), so Tahoe-LAFS and this node judge each other's pid
 * files alike. Undefined where /proc is not available or the process is gone.
 */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces and parentheses: count from the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[19]);
    const btime = /^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"));
    if (!Number.isFinite(ticks) || !btime) return undefined;
    return Number(btime[1]) + ticks / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

export function ownStartTime(): number {
  return processStartTime(process.pid) ?? Date.now() / 1000 - process.uptime();
}

/** Python's str(float): an integral value keeps its ".0". */
function pythonFloat(value: number): string {
  return Number.isInteger(value) ? `${value}.0` : String(value);
}

export function formatPidFile(content: PidFileContent): string {
  return content.startTime === undefined
    ? `${content.pid}\n`
    : `${content.pid} ${pythonFloat(content.startTime)}\n`;
}

/** Undefined when the text is not "PID" or "PID START_TIME". */
export function parsePidFile(text: string): PidFileContent | undefined {
  const m = /^\s*(\d{1,10})(?:[ \t]+(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?))?\s*$/.exec(text);
  if (!m) return undefined;
  const pid = Number(m[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  return m[2] === undefined ? { pid } : { pid, startTime: Number(m[2]) };
}

/** Whether the process a pid file names still runs (and is the same process, not a reused pid). */
export function isPidFileLive(content: PidFileContent): boolean {
  try {
    process.kill(content.pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to someone else; it still holds the directory.
    if (errnoCode(error) !== "EPERM") return false;
  }
  if (content.startTime === undefined) return true;
  const actual = processStartTime(content.pid);
  return actual === undefined || Math.abs(actual - content.startTime) < START_TIME_SLACK_SECONDS;
}

function alreadyRunning(path: string, pid: number): NodeError {
  return new NodeError(
    "TAHOE_ERR_NODE_ALREADY_RUNNING",
    `another node is already running in this directory: ${path} names process ${pid}, which is alive`,
    {
      hint: `Stop that process first (kill ${pid}), or run this node from another directory. A node directory serves one node at a time.`,
    },
  );
}

/**
 * Takes BASEDIR/running.process for this process, the way Tahoe-LAFS marks a running node:
 * created with O_EXCL, holding "PID START_TIME". A file left behind by a process that is gone
 * is removed. Removal renames the file aside first and checks that what it moved is what it
 * judged stale, so two starts racing over a stale file can never both win.
 * Throws NodeError TAHOE_ERR_NODE_ALREADY_RUNNING or TAHOE_ERR_NODE_PID_FILE.
 */
export async function acquireNodeLock(basedir: string): Promise<NodeLock> {
  const path = join(basedir, NODE_FILES.pidFile);
  const mine = formatPidFile({ pid: process.pid, startTime: ownStartTime() });
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    try {
      const handle = await open(path, "wx", 0o644);
      try {
        await handle.writeFile(mine);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return { path, release: () => releaseLock(path, mine) };
    } catch (error) {
      if (errnoCode(error) !== "EEXIST") throw error;
    }
    const text = await readTextIfPresent(path);
    if (text === undefined) continue;
    const content = parsePidFile(text);
    if (content === undefined) {
      throw new NodeError(
        "TAHOE_ERR_NODE_PID_FILE",
        `${path} does not hold "PID START_TIME", so it is unclear whether a node runs here`,
        {
          hint: "If no node runs from this directory (check with ps), delete the file and start again.",
        },
      );
    }
    if (isPidFileLive(content)) throw alreadyRunning(path, content.pid);
    // Stale: replace it only while holding the takeover directory (mkdir is atomic), and only if
    // it is still the very file we judged stale. Renaming it aside instead could move a fresh
    // file another start had just created, and two starts could then both believe they won.
    if (!(await takeOver(path, text))) await sleep(TAKEOVER_WAIT_MS);
  }
  throw new NodeError(
    "TAHOE_ERR_NODE_ALREADY_RUNNING",
    `${path} kept changing while this node tried to take it: another node is starting in this directory`,
    { hint: "Start one node per directory; wait for the other start to finish or stop it." },
  );
}

/**
 * Removes the stale pid file `path` if it still holds `stale`, under `path.takeover`.
 * Returns false when another start holds the takeover, so the caller waits and retries.
 */
async function takeOver(path: string, stale: string): Promise<boolean> {
  const dir = `${path}.takeover`;
  try {
    await mkdir(dir);
  } catch (error) {
    if (errnoCode(error) !== "EEXIST") throw error;
    const since = await stat(dir).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (since > TAKEOVER_STALE_MS) await rmdir(dir).catch(() => {});
    return false;
  }
  try {
    if ((await readTextIfPresent(path)) === stale) await unlink(path).catch(() => {});
  } finally {
    await rmdir(dir).catch(() => {});
  }
  return true;
}

async function releaseLock(path: string, mine: string): Promise<void> {
  // Only remove the file if it is still ours: an operator may have deleted it and started another node.
  if ((await readTextIfPresent(path)) === mine) await unlink(path).catch(() => {});
}
