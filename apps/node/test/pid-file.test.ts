import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  acquireNodeLock,
  formatPidFile,
  isPidFileLive,
  NodeError,
  parsePidFile,
  processStartTime,
} from "../src/index.js";
import { tempDir } from "./helpers.js";

let dir: ReturnType<typeof tempDir>;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => dir.cleanup());

/** The pid of a process that has exited (and been reaped), so nothing runs under it now. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  return Number(child.stdout.toString());
}

async function refusal(promise: Promise<unknown>): Promise<NodeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NodeError);
  return error as NodeError;
}

describe("running.process", () => {
  it("round-trips Tahoe-LAFS's 'PID CREATE_TIME' form, keeping Python's '.0' on whole seconds", () => {
    expect(formatPidFile({ pid: 42, startTime: 1700000000.25 })).toBe("42 1700000000.25\n");
    expect(formatPidFile({ pid: 42, startTime: 1700000000 })).toBe("42 1700000000.0\n");
    expect(parsePidFile("42 1700000000.0\n")).toEqual({ pid: 42, startTime: 1700000000 });
    expect(parsePidFile("  7\n")).toEqual({ pid: 7 });
    expect(parsePidFile("")).toBeUndefined();
    expect(parsePidFile("abc 12")).toBeUndefined();
    expect(parsePidFile("0 12.5")).toBeUndefined();
  });

  it("reads this process's start time as psutil does, close to now minus uptime", () => {
    const start = processStartTime(process.pid);
    expect(start).toBeDefined();
    expect(Math.abs(start! - (Date.now() / 1000 - process.uptime()))).toBeLessThan(2);
  });

  it("is taken with this process's pid and released by removing it", async () => {
    const lock = await acquireNodeLock(dir.path);
    const content = parsePidFile(readFileSync(lock.path, "utf8"));
    expect(content?.pid).toBe(process.pid);
    expect(isPidFileLive(content!)).toBe(true);
    await lock.release();
    expect(existsSync(lock.path)).toBe(false);
  });

  it("refuses a second holder while the first holds it", async () => {
    const lock = await acquireNodeLock(dir.path);
    const error = await refusal(acquireNodeLock(dir.path));
    expect(error.code).toBe("TAHOE_ERR_NODE_ALREADY_RUNNING");
    expect(error.message).toContain(join(dir.path, "running.process"));
    expect(error.message).toContain(String(process.pid));
    expect(error.hint).toContain(`kill ${process.pid}`);
    await lock.release();
    await (await acquireNodeLock(dir.path)).release();
  });

  it("replaces a file left by a process that is gone", async () => {
    const path = join(dir.path, "running.process");
    writeFileSync(path, formatPidFile({ pid: deadPid(), startTime: 1 }));
    const lock = await acquireNodeLock(dir.path);
    expect(parsePidFile(readFileSync(path, "utf8"))?.pid).toBe(process.pid);
    await lock.release();
  });

  it("replaces a file whose pid now belongs to a process started at another time", async () => {
    const path = join(dir.path, "running.process");
    const stale = { pid: process.pid, startTime: processStartTime(process.pid)! - 3600 };
    expect(isPidFileLive(stale)).toBe(false);
    writeFileSync(path, formatPidFile(stale));
    const lock = await acquireNodeLock(dir.path);
    expect(readFileSync(path, "utf8")).not.toBe(formatPidFile(stale));
    await lock.release();
  });

  it("refuses a file it cannot read as a pid, naming it", async () => {
    const path = join(dir.path, "running.process");
    writeFileSync(path, "not a pid\n");
    const error = await refusal(acquireNodeLock(dir.path));
    expect(error.code).toBe("TAHOE_ERR_NODE_PID_FILE");
    expect(error.message).toContain(path);
    expect(error.hint).toMatch(/delete the file/);
    expect(readFileSync(path, "utf8")).toBe("not a pid\n");
  });

  it("leaves a file alone on release when it is no longer this holder's", async () => {
    const lock = await acquireNodeLock(dir.path);
    writeFileSync(lock.path, "4242 1.0\n");
    await lock.release();
    expect(readFileSync(lock.path, "utf8")).toBe("4242 1.0\n");
  });

  it("lets exactly one of several concurrent takers win over a stale file", async () => {
    writeFileSync(join(dir.path, "running.process"), formatPidFile({ pid: deadPid(), startTime: 1 }));
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => acquireNodeLock(dir.path)));
    const won = results.filter((r) => r.status === "fulfilled");
    expect(won).toHaveLength(1);
    for (const r of results) {
      if (r.status === "rejected")
        expect((r.reason as NodeError).code).toBe("TAHOE_ERR_NODE_ALREADY_RUNNING");
    }
    await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
  });
});
