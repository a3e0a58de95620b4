import { join } from "node:path";
import {
  type ConfigIssue,
  type ControlPanelState,
  NODE_FILES,
  parseControlPanelState,
  parseServerListFile,
  readTextIfPresent,
} from "@lafs/config";
import { PlacementRefusedError, type PlacementServer, placeShares } from "@lafs/placement";

/**
 * The user's allowed/required choices: BASEDIR/servers-allowed, servers-required and the control
 * panel's BASEDIR/control-panel.json. A server is allowed when servers-allowed lists it; else, when
 * it is decided (the panel showed it and the user left it unticked), not allowed; else the default
 * for new servers: control-panel.json's newServersAllowed, else [client]new-servers, else allowed
 * exactly when servers-allowed does not exist (Tahoe's reading: a hand-written list is complete).
 * Required: listed in servers-required.
 */
export interface ServerFlags {
  allowed(serverId: string): boolean;
  required(serverId: string): boolean;
  /** Listed in servers-allowed or decided on the panel: the default does not apply to it. */
  decided(serverId: string): boolean;
  /** The ids servers-allowed lists, or undefined when it does not exist. */
  readonly allowedIds: ReadonlySet<string> | undefined;
  readonly requiredIds: ReadonlySet<string>;
  readonly decidedIds: ReadonlySet<string>;
  readonly newServersAllowed: boolean;
  readonly newServersSource: NewServersSource;
  /** The control panel's saved state; undefined when absent or broken (see issues). */
  readonly panel: ControlPanelState | undefined;
  /** Line-numbered problems in the files; the lines they name are ignored, a broken control-panel.json entirely. */
  readonly issues: readonly ConfigIssue[];
}

export type NewServersSource = "default" | "tahoe.cfg" | "control panel";

export interface ServerFlagsOptions {
  /** [client]new-servers; undefined when tahoe.cfg does not set it. */
  newServers?: "allowed" | "not-allowed" | undefined;
}

/** Builds ServerFlags from the files' texts (undefined = the file does not exist). */
export function serverFlagsFromText(
  allowedText: string | undefined,
  requiredText: string | undefined,
  panelText?: string,
  options: ServerFlagsOptions = {},
): ServerFlags {
  const issues: ConfigIssue[] = [];
  let allowedIds: Set<string> | undefined;
  if (allowedText !== undefined) {
    const parsed = parseServerListFile(allowedText, NODE_FILES.serversAllowed);
    issues.push(...parsed.errors);
    allowedIds = new Set(parsed.entries.map((e) => e.serverId));
  }
  const requiredIds = new Set<string>();
  if (requiredText !== undefined) {
    const parsed = parseServerListFile(requiredText, NODE_FILES.serversRequired);
    issues.push(...parsed.errors);
    for (const e of parsed.entries) requiredIds.add(e.serverId);
  }
  let panel: ControlPanelState | undefined;
  if (panelText !== undefined) {
    const parsed = parseControlPanelState(panelText, NODE_FILES.controlPanel);
    issues.push(...parsed.errors);
    panel = parsed.state;
  }
  const decidedIds = new Set([...(allowedIds ?? []), ...(panel?.decided ?? [])]);
  let newServersAllowed = allowedText === undefined;
  let newServersSource: NewServersSource = "default";
  if (panel?.newServersAllowed !== undefined) {
    newServersAllowed = panel.newServersAllowed;
    newServersSource = "control panel";
  } else if (options.newServers !== undefined) {
    newServersAllowed = options.newServers === "allowed";
    newServersSource = "tahoe.cfg";
  }
  return {
    allowed: (id) => allowedIds?.has(id) || (!decidedIds.has(id) && newServersAllowed),
    required: (id) => requiredIds.has(id),
    decided: (id) => decidedIds.has(id),
    allowedIds,
    requiredIds,
    decidedIds,
    newServersAllowed,
    newServersSource,
    panel,
    issues,
  };
}

/**
 * Reads BASEDIR/servers-allowed, servers-required and control-panel.json. Never throws on a user's
 * mistake: bad lines come back in `issues` (the caller shows them; a required server named on a
 * bad line is not required). Read errors other than a missing file are thrown.
 */
export async function serverFlagsFromFiles(
  basedir: string,
  options: ServerFlagsOptions = {},
): Promise<ServerFlags> {
  const [allowedText, requiredText, panelText] = await Promise.all([
    readTextIfPresent(join(basedir, NODE_FILES.serversAllowed)),
    readTextIfPresent(join(basedir, NODE_FILES.serversRequired)),
    readTextIfPresent(join(basedir, NODE_FILES.controlPanel)),
  ]);
  return serverFlagsFromText(allowedText, requiredText, panelText, options);
}

/** Copies the flags onto servers (for the uploader's `servers` option). */
export function withServerFlags<T extends { readonly id: string }>(
  servers: readonly T[],
  flags: ServerFlags,
): (T & { allowed: boolean; required: boolean })[] {
  return servers.map((s) => ({ ...s, allowed: flags.allowed(s.id), required: flags.required(s.id) }));
}

/**
 * Stand-ins for servers servers-required names but nothing announced (and servers.yaml does not
 * list): placement only sees the servers it is given, so without these an unknown required server
 * would not stop uploads. They are disconnected, so placement refuses with "required but not connected".
 */
export function requiredButUnknown(
  servers: readonly { readonly id: string }[],
  flags: ServerFlags,
): PlacementServer[] {
  const known = new Set(servers.map((s) => s.id));
  return [...flags.requiredIds]
    .filter((id) => !known.has(id))
    .map((id) => ({
      id,
      permutationSeed: new TextEncoder().encode(id),
      connected: false,
      writable: false,
      allowed: flags.allowed(id),
      required: true,
    }));
}

/** Throws placement's own refusal when a required server is not known at all (see requiredButUnknown). */
export function assertRequiredServersKnown(
  servers: readonly (Omit<PlacementServer, "writable"> & { readonly writable?: boolean })[],
  flags: ServerFlags,
  encoding: { k: number; happy: number; n: number },
): void {
  const missing = requiredButUnknown(servers, flags);
  if (missing.length === 0) return;
  // Unknown space counts as writable, as the uploader's first ask would find out.
  const given = servers.map((s) => ({ ...s, writable: s.writable ?? true }));
  const plan = placeShares({
    storageIndex: new Uint8Array(16),
    servers: [...given, ...missing],
    ...encoding,
  });
  if (!plan.ok && plan.refusals.length > 0) throw new PlacementRefusedError(plan.refusals);
}
