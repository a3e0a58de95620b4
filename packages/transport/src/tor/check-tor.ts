import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ClientEndpoint, formatClientEndpoint } from "@lafs/config";
import { isTahoeError } from "@lafs/interface";
import { connectTorControl } from "./control-connection.js";
import { probeSocks } from "./endpoints.js";
import { TorError } from "./errors.js";
import { launchTor } from "./launch.js";
import { parseSocksListeners } from "./socks-listeners.js";

/** Hints in the words of the caller (e.g. the create command's flags), one per failure. */
export interface TorCheckHints {
  readonly control?: string | undefined;
  readonly noSocks?: string | undefined;
  readonly socks?: string | undefined;
  readonly launch?: string | undefined;
}

export interface CheckTorOptions {
  /** A running tor's control port: must answer and authenticate, and have a SOCKS port unless socksPort is given. */
  readonly controlPort?: ClientEndpoint | undefined;
  /** A running tor's SOCKS port: must answer a SOCKS5 greeting. */
  readonly socksPort?: ClientEndpoint | undefined;
  /** A tor the node will launch: started once offline (DisableNetwork 1) with these lines, so a bad executable or torrc line shows now. */
  readonly launch?:
    | { executable?: string | undefined; extraTorrcLines?: readonly string[] | undefined }
    | undefined;
  readonly timeoutMs?: number | undefined;
  readonly hints?: TorCheckHints | undefined;
}

/** What the check found: the SOCKS port the node will use, when one is known now. */
export interface TorCheckResult {
  readonly socks?: ClientEndpoint | undefined;
}

function withHint(error: unknown, hint: string | undefined): never {
  if (hint === undefined || !isTahoeError(error) || !error.code.startsWith("TAHOE_ERR_TOR_")) throw error;
  // The auth hint (cookie permissions) is about the machine, not about a flag: keep it.
  if (error.code === "TAHOE_ERR_TOR_AUTH") throw error;
  throw new TorError(error.code as TorError["code"], error.message, { hint, cause: error });
}

/**
 * What `tahoe create-*` can check of the Tor it is told to use, before it writes anything: the
 * control port answers (and its tor has a SOCKS port), the SOCKS port answers, a launched tor
 * starts with the given torrc lines. Nothing goes through Tor; a launched tor stays offline.
 */
export async function checkTor(options: CheckTorOptions): Promise<TorCheckResult> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const hints = options.hints ?? {};
  let socks = options.socksPort;
  if (options.controlPort !== undefined) {
    const control = await connectTorControl(options.controlPort, { timeoutMs }).catch((e: unknown) =>
      withHint(e, hints.control),
    );
    try {
      const listeners = parseSocksListeners(
        (await control.getInfo("net/listeners/socks")).get("net/listeners/socks") ?? "",
      );
      if (socks === undefined) {
        socks = listeners[0];
        if (socks === undefined) {
          throw new TorError(
            "TAHOE_ERR_TOR_NOT_FOUND",
            `the tor at ${control.endpoint} has no SOCKS port (SocksPort 0), so the node could make no connection through it`,
            { hint: hints.noSocks ?? "Add a SocksPort line to that tor's torrc, or set [tor]socks.port." },
          );
        }
      }
    } finally {
      await control.close();
    }
  }
  if (socks !== undefined) {
    const why = await probeSocks(socks, timeoutMs);
    if (why !== undefined) {
      throw new TorError(
        "TAHOE_ERR_TOR_NOT_FOUND",
        `no Tor SOCKS port answers at ${formatClientEndpoint(socks)}: ${why}`,
        { hint: hints.socks ?? "Start tor first, or fix [tor]socks.port." },
      );
    }
  }
  if (options.launch !== undefined) {
    const dir = await mkdtemp(join(tmpdir(), "lafs-tor-check-"));
    try {
      const tor = await launchTor({
        executable: options.launch.executable,
        dataDirectory: dir,
        extraTorrcLines: options.launch.extraTorrcLines,
        disableNetwork: true,
        startTimeoutMs: timeoutMs * 4,
      }).catch((e: unknown) => withHint(e, hints.launch));
      await tor.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return { socks };
}
