import type { TorControl } from "./control-connection.js";
import { TorError } from "./errors.js";

/** A v3 onion service as Tor's ADD_ONION returned it. */
export interface OnionService {
  /** The 56-character v3 service id, without ".onion". */
  readonly serviceId: string;
  /** "ED25519-V3:BASE64", the form Tahoe-LAFS keeps in private/tor_onion.privkey. */
  readonly privateKey: string;
}

export interface AddOnionOptions {
  /** The saved key to re-publish; undefined creates a new v3 key. */
  privateKey?: string;
  /** The port peers connect to (tub.location), and the local port Tor forwards it to on 127.0.0.1. */
  externalPort: number;
  localPort: number;
  /**
   * Keep the service after this control connection closes. Needed when the connection is
   * short-lived; a node that holds its connection open leaves it off so a crashed node's
   * service disappears with it.
   */
  detach?: boolean;
  /** Resolve only after the first descriptor upload (HS_DESC UPLOADED), so peers can connect at once. */
  waitForUpload?: { timeoutMs: number; signal?: AbortSignal };
}

const KEY_PATTERN = /^ED25519-V3:[A-Za-z0-9+/]{86}==$/;

/** Checks the text of private/tor_onion.privkey; `file` names it in the error. */
export function parseOnionPrivateKey(text: string, file: string): string {
  const key = text.trim();
  if (!KEY_PATTERN.test(key)) {
    throw new TorError(
      "TAHOE_ERR_TOR_ONION_KEY",
      `${file} does not hold a v3 onion service key (expected 'ED25519-V3:' and 88 base64 characters)`,
      {
        hint: "Restore the file from a backup; without it the node's .onion address cannot be published. A new address needs a new node directory (tahoe create-node --listen=tor).",
      },
    );
  }
  return key;
}

/**
 * ADD_ONION (control-spec §3.27) for one port mapping. Tor refuses the key if the same service
 * is already published on this tor, which the error then quotes.
 */
export async function addOnion(control: TorControl, options: AddOnionOptions): Promise<OnionService> {
  const keyArg = options.privateKey ?? "NEW:ED25519-V3";
  const flags = options.detach ? " Flags=Detach" : "";
  const ports = `Port=${options.externalPort},127.0.0.1:${options.localPort}`;
  let uploaded: Promise<void> | undefined;
  let serviceId: string | undefined;
  let unsubscribe: (() => void) | undefined;
  const seen = new Set<string>();
  let onUploaded: (() => void) | undefined;
  if (options.waitForUpload) {
    // Subscribe before ADD_ONION: the first upload can follow the reply within milliseconds.
    unsubscribe = await control.subscribe(["HS_DESC"], (event) => {
      const m = /^HS_DESC UPLOADED (\S+) /.exec(event);
      if (m?.[1] === undefined) return;
      seen.add(m[1]);
      if (m[1] === serviceId) onUploaded?.();
    });
  }
  try {
    const reply = await control.command(`ADD_ONION ${keyArg}${flags} ${ports}`);
    serviceId = reply.lines.find((l) => l.startsWith("ServiceID="))?.slice("ServiceID=".length);
    const newKey = reply.lines.find((l) => l.startsWith("PrivateKey="))?.slice("PrivateKey=".length);
    if (serviceId === undefined || (options.privateKey === undefined && newKey === undefined)) {
      throw new TorError(
        "TAHOE_ERR_TOR_CONTROL_PROTOCOL",
        `Tor (${control.endpoint}) answered ADD_ONION without ServiceID/PrivateKey: ${reply.lines.join(" / ")}`,
        { hint: "This tor may be too old for v3 onion services (0.3.3.1 or later is needed)." },
      );
    }
    const wait = options.waitForUpload;
    if (wait) {
      const id = serviceId;
      uploaded = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(
            new TorError(
              "TAHOE_ERR_TOR_BOOTSTRAP_TIMEOUT",
              `the onion service ${id}.onion was created on ${control.endpoint}, but Tor did not upload its descriptor within ${Math.round(wait.timeoutMs / 1000)} s`,
              { hint: "Tor may not be connected to the Tor network yet; check its log and network access." },
            ),
          );
        }, wait.timeoutMs);
        onUploaded = () => {
          clearTimeout(timer);
          resolve();
        };
        wait.signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(wait.signal?.reason);
        });
        if (seen.has(id)) onUploaded();
      });
      await uploaded;
    }
    return { serviceId, privateKey: options.privateKey ?? (newKey as string) };
  } finally {
    unsubscribe?.();
  }
}

/** DEL_ONION: takes a service off this tor (it stops being reachable once its descriptors expire). */
export async function delOnion(control: TorControl, serviceId: string): Promise<void> {
  await control.command(`DEL_ONION ${serviceId}`);
}
