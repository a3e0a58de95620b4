import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "@lafs/interface";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { processStartTime } from "../src/pid-file.js";
import { nodeSpoolPrefix, removeStaleSpools } from "../src/spool-cleanup.js";
import { tempDir } from "./helpers.js";

/** Issue 15, defect 12: what a killed node's upload spool leaves is removed at the next start, and nothing else. */

function recorder() {
  const infos: { fields: unknown; msg: unknown }[] = [];
  const ignore = () => {};
  const logger: Logger = {
    trace: ignore,
    debug: ignore,
    info: (fields?: unknown, msg?: unknown) => {
      infos.push({ fields, msg });
    },
    warn: ignore,
    error: ignore,
    fatal: ignore,
    child: () => logger,
  };
  return { logger, infos };
}

/** A process that runs (or ran) for real, so the pid checks meet real /proc entries. */
function sleeper(): ChildProcess {
  return spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
}

async function ranAndExited(): Promise<{ pid: number; start: number }> {
  const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 300)"], { stdio: "ignore" });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const start = Math.floor(processStartTime(child.pid!) ?? 0);
  await new Promise((resolve) => child.once("exit", resolve));
  return { pid: child.pid!, start };
}

let dir: ReturnType<typeof tempDir>;
let live: ChildProcess | undefined;
beforeEach(() => {
  dir = tempDir("lafs-spool-");
});
afterEach(() => {
  live?.kill("SIGKILL");
  live = undefined;
  dir.cleanup();
});

describe("removeStaleSpools", () => {
  it("removes a dead process's spools, keeps a live process's and other files, and logs the bytes", async () => {
    const basedir = dir.path;
    const tmp = join(basedir, "tmp");
    await mkdir(tmp);
    const dead = await ranAndExited();
    live = sleeper();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const liveStart = Math.floor(processStartTime(live.pid!)!);
    const deadSpool = `lafs-upload-${dead.pid}-${dead.start}-0123456789abcdef`;
    const liveSpool = `lafs-upload-${live.pid}-${liveStart}-0123456789abcdef`;
    // The same pid with another start time: a reused pid, so the spool's process is gone.
    const reusedPid = `lafs-upload-${live.pid}-${liveStart - 1000}-fedcba9876543210`;
    const unowned = "lafs-spool-00112233445566aa";
    await writeFile(join(tmp, deadSpool), Buffer.alloc(1000));
    await writeFile(join(tmp, liveSpool), Buffer.alloc(10));
    await writeFile(join(tmp, reusedPid), Buffer.alloc(200));
    await writeFile(join(tmp, unowned), Buffer.alloc(30));
    await writeFile(join(tmp, "notes.txt"), "keep me");
    await mkdir(join(tmp, "lafs-upload-1-1-0123456789abcdef"));

    const { logger, infos } = recorder();
    const result = await removeStaleSpools(tmp, { basedir, logger });
    expect(result).toEqual({ files: 3, bytes: 1230 });
    expect((await readdir(tmp)).sort()).toEqual(
      [liveSpool, "lafs-upload-1-1-0123456789abcdef", "notes.txt"].sort(),
    );
    expect(infos).toHaveLength(1);
    expect(infos[0]!.msg).toMatch(
      /removed 3 upload spool file\(s\) a stopped node left: 1230 bytes reclaimed/,
    );
  });

  it("leaves the old unowned lafs-spool- files alone when the tempdir is outside the node directory", async () => {
    const outside = join(dir.path, "shared-tmp");
    await mkdir(outside);
    await writeFile(join(outside, "lafs-spool-00112233445566aa"), "x");
    const dead = await ranAndExited();
    await writeFile(join(outside, `lafs-upload-${dead.pid}-${dead.start}-0123456789abcdef`), "yy");
    const { logger } = recorder();
    const result = await removeStaleSpools(outside, { basedir: join(dir.path, "node"), logger });
    expect(result).toEqual({ files: 1, bytes: 2 });
    expect(await readdir(outside)).toEqual(["lafs-spool-00112233445566aa"]);
  });

  it("is quiet when the tempdir does not exist yet or holds nothing stale", async () => {
    const { logger, infos } = recorder();
    expect(await removeStaleSpools(join(dir.path, "absent"), { basedir: dir.path, logger })).toEqual({
      files: 0,
      bytes: 0,
    });
    expect(infos).toEqual([]);
  });

  it("names this process's spools so that they count as live while it runs", async () => {
    const tmp = join(dir.path, "tmp");
    await mkdir(tmp);
    const mine = `${nodeSpoolPrefix()}0123456789abcdef`;
    expect(mine).toMatch(new RegExp(`^lafs-upload-${process.pid}-\\d+-[0-9a-f]{16}$`));
    await writeFile(join(tmp, mine), "in use");
    const { logger } = recorder();
    expect(await removeStaleSpools(tmp, { basedir: dir.path, logger })).toEqual({ files: 0, bytes: 0 });
    expect(await readdir(tmp)).toEqual([mine]);
  });
});
