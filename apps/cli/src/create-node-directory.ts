import { join } from "node:path";
import {
  ConfigInvalidError,
  formatClientEndpoint,
  formatIntroducersYaml,
  loadTahoeCfgText,
  parseClientEndpoint,
  prepareNewNodeDirectory,
  removeNodeDirectoryOnFailure,
  writeFileAtomic,
  writePrivateFile,
} from "@lafs/config";
import { formatControlUrl, newControlIdentity } from "@lafs/control-tub";
import {
  createTlsIdentity,
  formatSecretFile,
  formatTlsIdentityPem,
  generateNodeKey,
  randomSecret,
  tubIdOfCertificate,
} from "@lafs/crypto";
import { isTahoeError, TahoeError } from "@lafs/interface";
import {
  type AllocatedI2pDestination,
  type AllocatedOnion,
  type AllocateI2pDestinationOptions,
  type AllocateOnionOptions,
  allocateI2pDestination,
  allocateOnionService,
  checkTor,
  type OnionAllocator,
  readTorrcLines,
  TorError,
} from "@lafs/transport";
import type { CreateRequest } from "./create-options.js";
import { introducerAddressFiles } from "./introducer-nurl.js";
import { formatTahoeCfg } from "./tahoe-cfg-text.js";

/** The lease secret (Tahoe-LAFS: CRYPTO_VAL_SIZE) and the convergence secret (wire-formats §2.3). */
const LEASE_SECRET_BYTES = 32;
// As Tahoe-LAFS (client.py _make_secret): 32 random bytes; older lafs-ts directories hold 16, which still work.
const CONVERGENCE_SECRET_BYTES = 32;

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
  /** Makes the onion service key for --listen=tor; default @lafs/transport's allocateOnionService. */
  readonly allocateOnion?: (options: AllocateOnionOptions) => Promise<AllocatedOnion>;
  /** Makes the I2P destination for --listen=i2p; default @lafs/transport's allocateI2pDestination. */
  readonly allocateI2pDestination?: (
    options: AllocateI2pDestinationOptions,
  ) => Promise<AllocatedI2pDestination>;
  /** Progress lines for people (Tor start-up, service creation); the CLI sends them to stderr. */
  readonly progress?: ((text: string) => void) | undefined;
}

/** One file the command wrote, relative to BASEDIR, for the summary and the tests. */
export interface WrittenFile {
  readonly path: string;
  readonly private: boolean;
}

/** The virtual port of the onion service, as in Tahoe-LAFS (tor_provider.create_config). */
const ONION_EXTERNAL_PORT = 3457;
const ONION_KEY_FILE = "private/tor_onion.privkey";
const I2P_KEY_FILE = "private/i2p_dest.privkey";

/** tub.port / tub.location and what the listeners need written: fixed now, so the node never picks at start (DESIGN §5). */
interface ListenerPlan {
  tubPort: string;
  tubLocation: string;
  tor?: [string, string][];
  i2p?: [string, string][];
  files: { path: string; data: string; private: boolean }[];
}

async function planListeners(request: CreateRequest, deps: CreateDependencies): Promise<ListenerPlan> {
  if (request.listen.length === 0) return { tubPort: "disabled", tubLocation: "disabled", files: [] };
  if (request.port !== undefined && request.location !== undefined) {
    return { tubPort: request.port, tubLocation: request.location, files: [] };
  }
  const say = (line: string) => deps.progress?.(`${line}\n`);
  const ports: string[] = [];
  const hints: string[] = [];
  const plan: ListenerPlan = { tubPort: "", tubLocation: "", files: [] };
  for (const kind of request.listen) {
    if (kind === "tcp") {
      // checkWhere guarantees --hostname here: --listen=tcp without it is a usage error.
      const hostname = request.hostname!;
      // The same address family as `tcp:PORT`, which listens on every interface.
      const port = await deps.allocatePort({ host: "0.0.0.0" });
      ports.push(`tcp:${port}`);
      hints.push(`tcp:${hostname}:${port}`);
    } else if (kind === "tor") {
      const localPort = await deps.allocatePort({ host: "127.0.0.1" });
      const tor = request.tor;
      const via: OnionAllocator = tor.launch
        ? { kind: "launch", executable: tor.executable }
        : tor.controlPort !== undefined
          ? { kind: "control", endpoint: parseClientEndpoint(tor.controlPort) }
          : { kind: "default" };
      const onion = await (deps.allocateOnion ?? allocateOnionService)({
        via,
        localPort,
        externalPort: ONION_EXTERNAL_PORT,
        onProgress: say,
      });
      ports.push(`tcp:${localPort}:interface=127.0.0.1`);
      hints.push(onion.hint);
      const reach: [string, string][] = tor.launch
        ? [
            ["launch", "true"],
            ...(tor.executable ? [["tor.executable", tor.executable] as [string, string]] : []),
          ]
        : [["control.port", tor.controlPort ?? formatClientEndpoint(onion.controlPort!)]];
      plan.tor = [
        ...reach,
        ...torExtraKeys(request),
        ["onion", "true"],
        ["onion.local_port", String(localPort)],
        ["onion.external_port", String(ONION_EXTERNAL_PORT)],
        ["onion.private_key_file", ONION_KEY_FILE],
      ];
      plan.files.push({ path: ONION_KEY_FILE, data: onion.privateKey, private: true });
    } else {
      const localPort = await deps.allocatePort({ host: "127.0.0.1" });
      const samPort = request.i2pSamPort === undefined ? undefined : parseClientEndpoint(request.i2pSamPort);
      const dest = await (deps.allocateI2pDestination ?? allocateI2pDestination)({
        samPort,
        externalPort: localPort,
        onProgress: say,
      });
      ports.push(`tcp:${localPort}:interface=127.0.0.1`);
      hints.push(dest.hint);
      plan.i2p = [
        ["sam.port", request.i2pSamPort ?? formatClientEndpoint(dest.samPort)],
        ["dest", "true"],
        ["dest.port", String(localPort)],
        ["dest.private_key_file", I2P_KEY_FILE],
      ];
      plan.files.push({ path: I2P_KEY_FILE, data: dest.privateKey, private: true });
    }
  }
  plan.tubPort = ports.join(",");
  plan.tubLocation = hints.join(",");
  return plan;
}

/** [tor]socks.port and torrc.file from --tor-socks-port and --tor-torrc-file. */
function torExtraKeys(request: CreateRequest): [string, string][] {
  const out: [string, string][] = [];
  if (request.tor.socksPort !== undefined) out.push(["socks.port", request.tor.socksPort]);
  if (request.tor.torrcFile !== undefined) out.push(["torrc.file", request.tor.torrcFile]);
  return out;
}

/** The [tor] keys of a node that only connects out through Tor (a client, or --hide-ip without --listen=tor). */
function outboundTorKeys(request: CreateRequest): [string, string][] | undefined {
  const tor = request.tor;
  const reach: [string, string][] = tor.launch
    ? [
        ["launch", "true"],
        ...(tor.executable ? [["tor.executable", tor.executable] as [string, string]] : []),
      ]
    : tor.controlPort !== undefined
      ? [["control.port", tor.controlPort]]
      : [];
  const keys = [...reach, ...torExtraKeys(request)];
  return keys.length === 0 ? undefined : keys;
}

const TOR_CHECK_HINTS = {
  control:
    "Start tor with a ControlPort and CookieAuthentication 1 and give that endpoint with --tor-control-port=, " +
    "or use --tor-launch to let the node start its own tor. Nothing was written.",
  noSocks:
    "Add a SocksPort line to that tor's torrc, or give its SOCKS port with --tor-socks-port=ENDPOINT. Nothing was written.",
  socks:
    "Start tor first, or fix --tor-socks-port= (a system tor listens on tcp:127.0.0.1:9050, Tor Browser on " +
    "tcp:127.0.0.1:9150). Nothing was written.",
  launch:
    "Install tor or give its path with --tor-executable=, and fix the lines of --tor-torrc-file= that tor " +
    "refused (quoted above). Nothing was written.",
};

/**
 * Checks, before anything is written, what can be checked of the tor the flags name: the
 * control port answers and its tor has a SOCKS port, the SOCKS port answers, a tor to launch
 * starts (offline) with the --tor-torrc-file lines. Hints name this command's flags.
 */
async function checkTorFlags(request: CreateRequest, say: (line: string) => void): Promise<void> {
  const tor = request.tor;
  let extraTorrcLines: string[] | undefined;
  if (tor.torrcFile !== undefined) {
    extraTorrcLines = await readTorrcLines(tor.torrcFile).catch((error: unknown) => {
      if (!isTahoeError(error)) throw error;
      throw new TorError(
        "TAHOE_ERR_TOR_LAUNCH",
        error.message.replace("[tor]torrc.file", "--tor-torrc-file="),
        {
          hint: "Give --tor-torrc-file= the path of a readable file of torrc lines. Nothing was written.",
          cause: error,
        },
      );
    });
  }
  // --listen=tor --tor-launch already starts an offline tor to make the key; only the torrc lines are new then.
  const launch =
    tor.launch && (extraTorrcLines !== undefined || !request.listen.includes("tor"))
      ? { executable: tor.executable, extraTorrcLines }
      : undefined;
  if (tor.controlPort === undefined && tor.socksPort === undefined && launch === undefined) return;
  const what = [
    tor.controlPort && `control port ${tor.controlPort}`,
    tor.socksPort && `SOCKS port ${tor.socksPort}`,
    launch &&
      `${tor.executable ?? "tor"} (offline)${extraTorrcLines ? " with --tor-torrc-file's lines" : ""}`,
  ].filter(Boolean);
  say(`checking tor: ${what.join(", ")}...`);
  await checkTor({
    controlPort: tor.controlPort === undefined ? undefined : parseClientEndpoint(tor.controlPort),
    socksPort: tor.socksPort === undefined ? undefined : parseClientEndpoint(tor.socksPort),
    launch,
    hints: TOR_CHECK_HINTS,
  });
}

/**
 * The control tub's loopback port and its own key (never node.pem's), fixed at create time like
 * tub.port; private/control.url tells `tahoe status/logs/stop` where it is and which pin to expect.
 */
async function planControlTub(
  deps: CreateDependencies,
): Promise<{ endpoint: string; files: ListenerPlan["files"] }> {
  const port = await deps.allocatePort({ host: "127.0.0.1" });
  const identity = newControlIdentity();
  return {
    endpoint: `tcp:${port}:interface=127.0.0.1`,
    files: [
      { path: "private/control.pem", data: formatTlsIdentityPem(identity.tls), private: true },
      {
        path: "private/control.url",
        data: formatControlUrl({ spkiHash: identity.tls.spkiHash, port, swissnum: identity.swissnum }),
        private: true,
      },
    ],
  };
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
  // Onion services and I2P destinations are made before anything is written: a Tor or I2P
  // router that fails leaves no half-made node directory behind.
  await checkTorFlags(request, (line) => deps.progress?.(`${line}\n`));
  const plan = await planListeners(request, deps);
  plan.tor ??= outboundTorKeys(request);
  const control = await planControlTub(deps);
  const cfgText = formatTahoeCfg({
    nickname: request.nickname,
    hideIp: request.hideIp,
    webPort: request.webPort,
    tubPort: plan.tubPort,
    tubLocation: plan.tubLocation,
    controlPort: control.endpoint,
    tor: plan.tor,
    i2p: plan.i2p,
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
  files.push(...plan.files, ...control.files);
  const tls = createTlsIdentity();
  files.push({ path: "private/node.pem", data: formatTlsIdentityPem(tls), private: true });
  if (request.kind === "introducer") {
    files.push(
      ...introducerAddressFiles(tubIdOfCertificate(tls.certPem).tubId, tls.spkiHash, plan.tubLocation),
    );
  }
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
