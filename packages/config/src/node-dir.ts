import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, normalize, sep } from "node:path";
import { TahoeError, type TahoeErrorOptions } from "@lafs/interface";

/** Paths inside a node directory (BASEDIR), relative to it, as Tahoe-LAFS names them. */
export const NODE_FILES = {
  config: "tahoe.cfg",
  nodeUrl: "node.url",
  nodePubkey: "node.pubkey",
  pidFile: "running.process",
  serversAllowed: "servers-allowed",
  serversRequired: "servers-required",
  controlPanel: "control-panel.json",
  storageDir: "storage",
  logsDir: "logs",
  privateDir: "private",
  nodePrivkey: "private/node.privkey",
  nodePem: "private/node.pem",
  secret: "private/secret",
  convergence: "private/convergence",
  introducersYaml: "private/introducers.yaml",
  serversYaml: "private/servers.yaml",
  webSecret: "private/web.secret",
  apiAuthToken: "private/api_auth_token",
  storageFurl: "private/storage.furl",
  introducerFurl: "private/introducer.furl",
  /** lafs-ts only: the introducer's NURLs (one per line) for lafs-ts nodes; introducer.furl is the fURL. */
  introducerNurl: "private/introducer.nurl",
  controlPem: "private/control.pem",
  controlUrl: "private/control.url",
  torOnionPrivkey: "private/tor_onion.privkey",
  torStateDir: "private/tor-statedir",
  i2pDestPrivkey: "private/i2p_dest.privkey",
} as const;

export type NodeFile = keyof typeof NODE_FILES;

export type NodeDirectoryErrorCode =
  | "TAHOE_ERR_NODEDIR_NOT_EMPTY"
  | "TAHOE_ERR_NODEDIR_NOT_DIRECTORY"
  | "TAHOE_ERR_NODEDIR_PATH";

/** A node-directory problem the user can fix (wrong path, existing files). */
export class NodeDirectoryError extends TahoeError {
  constructor(code: NodeDirectoryErrorCode, message: string, options: TahoeErrorOptions = {}) {
    super(code, message, options);
  }
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err
    ? String((err as { code: unknown }).code)
    : undefined;
}

/**
 * Makes BASEDIR and BASEDIR/private (0700) for `tahoe create-*`. Refuses a non-empty directory
 * with Tahoe-LAFS's own words, and a path that is a file. Modes are set with chmod, so the
 * process umask does not matter. `createdBasedir` tells removeNodeDirectoryOnFailure what to undo.
 */
export async function prepareNewNodeDirectory(basedir: string): Promise<{ createdBasedir: boolean }> {
  let existed = false;
  try {
    const info = await stat(basedir);
    existed = true;
    if (!info.isDirectory()) {
      throw new NodeDirectoryError(
        "TAHOE_ERR_NODEDIR_NOT_DIRECTORY",
        `The base directory '${basedir}' is not a directory.`,
        {
          hint: "Give the path of a new or empty directory.",
        },
      );
    }
    if ((await readdir(basedir)).length > 0) {
      throw new NodeDirectoryError(
        "TAHOE_ERR_NODEDIR_NOT_EMPTY",
        `The base directory '${basedir}' is not empty.`,
        {
          hint: "To avoid clobbering anything, I am going to quit now. Please use a different directory, or empty this one.",
        },
      );
    }
  } catch (err) {
    if (err instanceof NodeDirectoryError) throw err;
    if (errnoCode(err) === "ENOTDIR") {
      throw new NodeDirectoryError(
        "TAHOE_ERR_NODEDIR_NOT_DIRECTORY",
        `The base directory '${basedir}' is inside a file, not a directory.`,
        { hint: "Give the path of a new or empty directory.", cause: err },
      );
    }
    if (errnoCode(err) !== "ENOENT") throw err;
  }
  if (!existed) {
    await mkdir(basedir, { recursive: true });
    // Group/other must not be able to swap private/ for their own directory.
    const mode = (await stat(basedir)).mode & 0o777;
    await chmod(basedir, mode & ~0o022);
  }
  await ensurePrivateDirectory(basedir);
  return { createdBasedir: !existed };
}

async function ensurePrivateDirectory(basedir: string): Promise<string> {
  const privateDir = join(basedir, NODE_FILES.privateDir);
  await mkdir(privateDir, { recursive: true, mode: 0o700 });
  await chmod(privateDir, 0o700);
  return privateDir;
}

async function existingMode(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mode & 0o7777;
  } catch {
    return undefined;
  }
}

async function fsyncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, constants.O_RDONLY);
    await handle.sync();
  } catch (err) {
    // Some file systems refuse fsync on a directory; the rename is then as durable as they allow.
    const code = errnoCode(err);
    if (code !== "EINVAL" && code !== "EISDIR" && code !== "EPERM" && code !== "EBADF") throw err;
  } finally {
    await handle?.close();
  }
}

/**
 * Replaces `path` with `data` so that a crash leaves either the old file or the new one, never a
 * mix: write a temporary file beside it, fsync, rename over, fsync the directory. The mode is
 * set with chmod (umask does not matter); without `mode` a replaced file keeps its mode and a
 * new file gets 0644.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: { mode?: number } = {},
): Promise<void> {
  const dir = dirname(path);
  const mode = options.mode ?? (await existingMode(path)) ?? 0o644;
  const temp = join(dir, `.${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
  const handle = await open(temp, "wx", mode);
  let renamed = false;
  try {
    try {
      await handle.chmod(mode);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    renamed = true;
    await fsyncDirectory(dir);
  } finally {
    if (!renamed) await unlink(temp).catch(() => {});
  }
}

/**
 * Writes a secret under BASEDIR/private atomically with mode 0600 (private/ is made 0700 if
 * missing). `relativePath` is relative to private/; a leading `private/` is accepted so the
 * NODE_FILES names can be passed as they are.
 */
export async function writePrivateFile(
  basedir: string,
  relativePath: string,
  data: string | Uint8Array,
): Promise<void> {
  const inside = relativePath.startsWith(`${NODE_FILES.privateDir}/`)
    ? relativePath.slice(NODE_FILES.privateDir.length + 1)
    : relativePath;
  const clean = normalize(inside);
  if (
    inside === "" ||
    isAbsolute(inside) ||
    clean === ".." ||
    clean.startsWith(`..${sep}`) ||
    clean === "."
  ) {
    throw new NodeDirectoryError(
      "TAHOE_ERR_NODEDIR_PATH",
      `'${relativePath}' is not a file name inside private/`,
      {
        hint: "Give a path relative to BASEDIR/private, such as 'secret' or 'private/secret', without '..'.",
      },
    );
  }
  const privateDir = await ensurePrivateDirectory(basedir);
  const target = join(privateDir, clean);
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  await writeFileAtomic(target, data, { mode: 0o600 });
}

/**
 * Undoes a failed `tahoe create-*`: removes BASEDIR if this run created it, or else empties it
 * (prepareNewNodeDirectory only accepts an empty existing directory, so all its content is ours).
 * Symbolic links are removed, never followed.
 */
export async function removeNodeDirectoryOnFailure(basedir: string, createdByUs: boolean): Promise<void> {
  if (createdByUs) {
    await rm(basedir, { recursive: true, force: true });
    return;
  }
  let names: string[];
  try {
    names = await readdir(basedir);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return;
    throw err;
  }
  for (const name of names) await rm(join(basedir, name), { recursive: true, force: true });
}

/** A node file's text, or undefined when it does not exist; any other failure (EACCES, EISDIR) throws. */
export async function readTextIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return undefined;
    throw err;
  }
}

async function readTrimmed(path: string): Promise<string | undefined> {
  const text = (await readTextIfPresent(path))?.trim();
  return text === "" ? undefined : text;
}

/** 32 random bytes as base64url (43 characters): unguessable and safe in a URL path. */
function newUrlSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** The control panel's URL secret (private/web.secret), or undefined when there is none (or it was retired). */
export function readWebSecret(basedir: string): Promise<string | undefined> {
  return readTrimmed(join(basedir, NODE_FILES.webSecret));
}

/** Writes a fresh private/web.secret (0600, atomically): the old control-panel URL stops working at once. */
export async function rotateWebSecret(basedir: string): Promise<string> {
  const secret = newUrlSecret();
  await writePrivateFile(basedir, NODE_FILES.webSecret, `${secret}\n`);
  return secret;
}

/**
 * Deletes private/web.secret if it still holds `secret` (an idle timeout retired it), so a secret
 * written meanwhile by `tahoe webopen --control-panel` survives.
 */
export async function retireWebSecret(basedir: string, secret: string): Promise<boolean> {
  if ((await readWebSecret(basedir)) !== secret) return false;
  await rm(join(basedir, NODE_FILES.webSecret), { force: true });
  return true;
}

/** private/api_auth_token, as Tahoe-LAFS keeps it: what local tools present to prove they can read private/. */
export function readApiAuthToken(basedir: string): Promise<string | undefined> {
  return readTrimmed(join(basedir, NODE_FILES.apiAuthToken));
}

/** Reads private/api_auth_token, creating it (0600) when missing, as a Tahoe-LAFS node does at start. */
export async function ensureApiAuthToken(basedir: string): Promise<string> {
  const existing = await readApiAuthToken(basedir);
  if (existing !== undefined) return existing;
  const token = newUrlSecret();
  await writePrivateFile(basedir, NODE_FILES.apiAuthToken, `${token}\n`);
  return token;
}
