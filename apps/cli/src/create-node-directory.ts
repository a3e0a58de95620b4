import { join } from "node:path";
import {
  ConfigInvalidError,
  formatIntroducersYaml,
  loadTahoeCfgText,
  prepareNewNodeDirectory,
  removeNodeDirectoryOnFailure,
  writeFileAtomic,
  writePrivateFile,
} from "@lafs/config";
import {
  createTlsIdentity,
  formatSecretFile,
  formatTlsIdentityPem,
  generateNodeKey,
  randomSecret,
} from "@lafs/crypto";
import { isTahoeError, TahoeError } from "@lafs/interface";
import type { CreateRequest } from "./create-options.js";
import { ListenUnavailableError } from "./listen-unavailable.js";
import { formatTahoeCfg } from "./tahoe-cfg-text.js";

/** The lease secret (Tahoe-LAFS: CRYPTO_VAL_SIZE) and the convergence secret (wire-formats §2.3). */
const LEASE_SECRET_BYTES = 32;
const CONVERGENCE_SECRET_BYTES = 16;

/**
 * What Tahoe-LAFS ≥ 1.11 writes into tahoe-client.tac / tahoe-introducer.tac: `tahoe run`
 * tells the node type from that file's name, and an old Tahoe that tries to run the directory
 * gets a clear message.
 */
const DUMMY_TAC = `
import sys
print("Nodes created by Tahoe-LAFS v1.11.0 or later cannot be run by")
print("releases of Tahoe-LAFS before v1.10.0.")
sys.exit(1)
`;

export interface CreateDependencies {
  readonly allocatePort: (options?: { host?: string }) => Promise<number>;
}

/** One file the command wrote, relative to BASEDIR, for the summary and the tests. */
export interface WrittenFile {
  readonly path: string;
  readonly private: boolean;
}

/** tub.port / tub.location: fixed now, so the node never picks a port at start (DESIGN §5). */
async function tubSettings(
  request: CreateRequest,
  deps: CreateDependencies,
): Promise<{ tubPort: string; tubLocation: string }> {
  if (request.listen.length === 0) return { tubPort: "disabled", tubLocation: "disabled" };
  if (request.port !== undefined && request.location !== undefined) {
    return { tubPort: request.port, tubLocation: request.location };
  }
  // checkWhere guarantees --hostname here: --listen=tcp without it is a usage error.
  const hostname = request.hostname!;
  // The same address family as `tcp:PORT`, which listens on every interface.
  const port = await deps.allocatePort({ host: "0.0.0.0" });
  return { tubPort: `tcp:${port}`, tubLocation: `tcp:${hostname}:${port}` };
}

/**
 * Makes a new node directory in Tahoe-LAFS's layout. Everything that can fail on the user's
 * input fails before the directory is touched; a failure while writing removes the directory
 * again if this call created it, so there is never a half-written node.
 */
export async function createNodeDirectory(
  request: CreateRequest,
  deps: CreateDependencies,
): Promise<readonly WrittenFile[]> {
  const unavailable = request.listen.find((kind) => kind !== "tcp");
  if (unavailable !== undefined) throw new ListenUnavailableError(unavailable);

  const { tubPort, tubLocation } = await tubSettings(request, deps);
  const cfgText = formatTahoeCfg({
    nickname: request.nickname,
    hideIp: request.hideIp,
    webPort: request.webPort,
    tubPort,
    tubLocation,
    client: request.client,
  });
  const cfgPath = join(request.basedir, "tahoe.cfg");
  // Defence in depth: never leave behind a tahoe.cfg that the node would refuse at start.
  const loaded = loadTahoeCfgText(cfgText, { file: cfgPath });
  if (loaded.errors.length > 0) {
    throw new ConfigInvalidError(loaded.errors, {
      hint: "These options produce a tahoe.cfg that lafs-ts would refuse at start; nothing was written. Change them and try again.",
    });
  }

  const files: { path: string; data: string; private: boolean }[] = [
    { path: "tahoe.cfg", data: cfgText, private: false },
    {
      path: request.kind === "introducer" ? "tahoe-introducer.tac" : "tahoe-client.tac",
      data: DUMMY_TAC,
      private: false,
    },
  ];
  if (request.introducer !== undefined) {
    files.push({
      path: "private/introducers.yaml",
      data: formatIntroducersYaml([{ petname: "default", url: request.introducer }]),
      private: true,
    });
  }
  const tls = createTlsIdentity();
  files.push({ path: "private/node.pem", data: formatTlsIdentityPem(tls), private: true });
  // Like Tahoe-LAFS, the introducer has no node key (servers sign their own announcements),
  // no lease secret (it holds no shares) and no convergence secret (it uploads nothing).
  if (request.kind !== "introducer") {
    const key = generateNodeKey();
    files.push(
      { path: "private/node.privkey", data: `${key.privateKey}\n`, private: true },
      { path: "node.pubkey", data: `${key.publicKey}\n`, private: false },
      { path: "private/secret", data: formatSecretFile(randomSecret(LEASE_SECRET_BYTES)), private: true },
      {
        path: "private/convergence",
        data: formatSecretFile(randomSecret(CONVERGENCE_SECRET_BYTES)),
        private: true,
      },
    );
  }

  const { createdBasedir } = await fileSystemStep(request.basedir, () =>
    prepareNewNodeDirectory(request.basedir),
  );
  try {
    for (const file of files) {
      const path = join(request.basedir, file.path);
      await fileSystemStep(path, () =>
        file.private
          ? writePrivateFile(request.basedir, file.path, file.data)
          : writeFileAtomic(path, file.data),
      );
    }
  } catch (error) {
    await removeNodeDirectoryOnFailure(request.basedir, createdBasedir);
    throw error;
  }
  return files.map((f) => ({ path: f.path, private: f.private }));
}

/**
 * A full disk or a missing permission is the user's to fix, not a bug: the file system's error
 * becomes a TahoeError naming the path, so the CLI prints no stack trace for it.
 */
async function fileSystemStep<T>(path: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (isTahoeError(error)) throw error;
    const code =
      typeof error === "object" && error !== null && "code" in error ? String(error.code) : undefined;
    if (code === undefined) throw error;
    throw new TahoeError(
      "TAHOE_ERR_CLI_WRITE_FAILED",
      `could not write '${path}': ${code} (${(error as Error).message})`,
      {
        hint: "Check the permissions and free space of the target directory; nothing was left behind.",
        cause: error,
      },
    );
  }
}
