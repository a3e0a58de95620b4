import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  NODE_FILES,
  prepareNewNodeDirectory,
  removeNodeDirectoryOnFailure,
  writeFileAtomic,
  writePrivateFile,
} from "../src/index.js";

let root: string;
let savedUmask: number;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "lafs-nodedir-"));
  savedUmask = process.umask(0o022);
});

afterEach(async () => {
  process.umask(savedUmask);
  await rm(root, { recursive: true, force: true });
});

async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

async function rejection(
  promise: Promise<unknown>,
): Promise<{ code?: string; message: string; hint?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as { code?: string; message: string; hint?: string };
  }
  throw new Error("expected a rejection");
}

describe("NODE_FILES", () => {
  it("uses Tahoe-LAFS's names", () => {
    expect(NODE_FILES.config).toBe("tahoe.cfg");
    expect(NODE_FILES.secret).toBe("private/secret");
    expect(NODE_FILES.introducersYaml).toBe("private/introducers.yaml");
    expect(NODE_FILES.serversAllowed).toBe("servers-allowed");
    expect(Object.values(NODE_FILES).filter((p) => p.startsWith("private/")).length).toBeGreaterThan(10);
  });
});

describe("prepareNewNodeDirectory", () => {
  it.each([0o077, 0o000, 0o022])("creates basedir and private/ 0700 under umask %o", async (umask) => {
    process.umask(umask);
    const basedir = join(root, "a", "b", "node");
    expect(await prepareNewNodeDirectory(basedir)).toEqual({ createdBasedir: true });
    expect(await modeOf(join(basedir, "private"))).toBe(0o700);
    expect((await modeOf(basedir)) & 0o022).toBe(0);
  });

  it("accepts an existing empty directory", async () => {
    expect(await prepareNewNodeDirectory(root)).toEqual({ createdBasedir: false });
    expect(await readdir(root)).toEqual(["private"]);
  });

  it("refuses a non-empty directory with Tahoe's words", async () => {
    await writeFile(join(root, "tahoe.cfg"), "[node]\n");
    const err = await rejection(prepareNewNodeDirectory(root));
    expect(err.code).toBe("TAHOE_ERR_NODEDIR_NOT_EMPTY");
    expect(err.message).toBe(`The base directory '${root}' is not empty.`);
    expect(err.hint).toBe(
      "To avoid clobbering anything, I am going to quit now. Please use a different directory, or empty this one.",
    );
    expect(await readdir(root)).toEqual(["tahoe.cfg"]);
  });

  it("refuses a path that is a file, or lies under one", async () => {
    const file = join(root, "file");
    await writeFile(file, "x");
    expect((await rejection(prepareNewNodeDirectory(file))).code).toBe("TAHOE_ERR_NODEDIR_NOT_DIRECTORY");
    expect((await rejection(prepareNewNodeDirectory(join(file, "node")))).code).toBe(
      "TAHOE_ERR_NODEDIR_NOT_DIRECTORY",
    );
  });
});

describe("writeFileAtomic", () => {
  it("writes new files with the requested mode whatever the umask", async () => {
    process.umask(0o000);
    await writeFileAtomic(join(root, "a"), "hello", { mode: 0o600 });
    expect(await modeOf(join(root, "a"))).toBe(0o600);
    process.umask(0o077);
    await writeFileAtomic(join(root, "b"), Uint8Array.of(1, 2, 3));
    expect(await modeOf(join(root, "b"))).toBe(0o644);
    expect([...(await readFile(join(root, "b")))]).toEqual([1, 2, 3]);
    expect(await readdir(root)).toEqual(["a", "b"]);
  });

  it("replaces a file and keeps its mode unless told otherwise", async () => {
    const path = join(root, "servers-allowed");
    await writeFileAtomic(path, "old\n", { mode: 0o640 });
    await writeFileAtomic(path, "new\n");
    expect(await readFile(path, "utf8")).toBe("new\n");
    expect(await modeOf(path)).toBe(0o640);
  });

  it("never lets a temporary file left by a crash replace the target", async () => {
    const path = join(root, "servers-required");
    await writeFileAtomic(path, "complete old content\n");
    // What a crash between write and rename leaves behind: a partial temporary file.
    await writeFile(join(root, ".servers-required.tmp-999-abcdef"), "partial");
    expect(await readFile(path, "utf8")).toBe("complete old content\n");
    await writeFileAtomic(path, "complete new content\n");
    expect(await readFile(path, "utf8")).toBe("complete new content\n");
    expect(await readFile(join(root, ".servers-required.tmp-999-abcdef"), "utf8")).toBe("partial");
  });

  it("leaves the target untouched and no temporary file when the rename fails", async () => {
    const path = join(root, "target");
    await mkdir(path);
    await writeFile(join(path, "keep"), "x");
    await expect(writeFileAtomic(path, "data")).rejects.toThrow();
    expect(await readdir(root)).toEqual(["target"]);
    expect(await readFile(join(path, "keep"), "utf8")).toBe("x");
  });

  it("readers see only whole versions while writers race", async () => {
    const path = join(root, "race");
    const versions = Array.from({ length: 20 }, (_, i) => `${String(i).repeat(50_000)}\n`);
    await writeFileAtomic(path, versions[0]!);
    const seen = new Set<string>();
    let done = false;
    const reader = (async () => {
      while (!done) seen.add(await readFile(path, "utf8"));
    })();
    await Promise.all(versions.map((v) => writeFileAtomic(path, v)));
    done = true;
    await reader;
    for (const content of seen) expect(versions).toContain(content);
    expect(versions).toContain(await readFile(path, "utf8"));
    expect(await readdir(root)).toEqual(["race"]);
  });
});

describe("writePrivateFile", () => {
  it.each([0o000, 0o077])("writes 0600 files under a 0700 private/ (umask %o)", async (umask) => {
    process.umask(umask);
    await writePrivateFile(root, "secret", "s3cret\n");
    await writePrivateFile(root, NODE_FILES.webSecret, "web\n");
    expect(await readFile(join(root, "private", "secret"), "utf8")).toBe("s3cret\n");
    expect(await readFile(join(root, "private", "web.secret"), "utf8")).toBe("web\n");
    expect(await modeOf(join(root, "private"))).toBe(0o700);
    expect(await modeOf(join(root, "private", "secret"))).toBe(0o600);
    expect(await modeOf(join(root, "private", "web.secret"))).toBe(0o600);
  });

  it.each(["../tahoe.cfg", "private/../../x", "/etc/passwd", "", "private/"])(
    "refuses %j, which is not inside private/",
    async (rel) => {
      expect((await rejection(writePrivateFile(root, rel, "x"))).code).toBe("TAHOE_ERR_NODEDIR_PATH");
      expect(await readdir(root)).toEqual([]);
    },
  );
});

describe("removeNodeDirectoryOnFailure", () => {
  it("removes a basedir this run created", async () => {
    const basedir = join(root, "new", "node");
    const { createdBasedir } = await prepareNewNodeDirectory(basedir);
    await writePrivateFile(basedir, "secret", "x");
    await removeNodeDirectoryOnFailure(basedir, createdBasedir);
    expect(await readdir(join(root, "new"))).toEqual([]);
  });

  it("empties, but keeps, a basedir that existed, without following symlinks", async () => {
    const basedir = join(root, "node");
    const outside = join(root, "outside");
    await mkdir(basedir);
    await mkdir(outside);
    await writeFile(join(outside, "precious"), "x");
    const { createdBasedir } = await prepareNewNodeDirectory(basedir);
    await writeFile(join(basedir, "tahoe.cfg"), "[node]\n");
    await symlink(outside, join(basedir, "link"));
    await removeNodeDirectoryOnFailure(basedir, createdBasedir);
    expect(await readdir(basedir)).toEqual([]);
    expect(await readFile(join(outside, "precious"), "utf8")).toBe("x");
  });

  it("accepts a basedir that is already gone", async () => {
    await expect(removeNodeDirectoryOnFailure(join(root, "missing"), false)).resolves.toBeUndefined();
  });
});
