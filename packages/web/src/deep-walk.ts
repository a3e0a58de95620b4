import { parseImmutableCap } from "@lafs/immutable";
import { verifyCapText } from "./directory-json.js";
import { WebError } from "./errors.js";
import type { WebDirectory, WebDirectoryEntry } from "./web-node.js";

/**
 * One file, directory or unknown node reached by a deep traversal, with what Tahoe's streamers
 * print of it (get_uri, get_verify_cap, get_repair_cap, get_storage_index; "" for none).
 */
export interface WalkedNode {
  readonly type: "file" | "directory" | "unknown";
  readonly path: readonly string[];
  readonly cap: string;
  readonly verifycap: string;
  readonly repaircap: string;
  readonly storageIndex: string;
  /** The file cap whose shares a check reads: a directory's is its backing file. */
  readonly checkCap: string;
  readonly mutable: boolean;
  readonly literal: boolean;
  /** An immutable file's size, from its cap. */
  readonly size?: number | undefined;
}

/** A directory whose children have just been read (Tahoe's enter_directory). */
export interface WalkedDirectory {
  readonly node: WalkedNode;
  readonly children: number;
  /** The packed directory's length, when the node told it. */
  readonly size: number | undefined;
}

/** What sees every node and directory of a walk (deep-stats.ts's DeepStats). */
export interface WalkObserver {
  addNode(node: WalkedNode): void;
  enterDirectory(directory: WalkedDirectory): void;
}

export type WalkEvent =
  | { readonly kind: "node"; readonly node: WalkedNode }
  | { readonly kind: "entered"; readonly directory: WalkedDirectory };

/**
 * The file cap a directory is stored in (Tahoe's dirnode._node): DIR2 is an SDMF file, DIR2-MDMF
 * an MDMF one, DIR2-CHK a CHK one and DIR2-LIT a LIT one; read-only and verify caps alike.
 */
export function backingFileCap(dirCap: string): string {
  const m = /^URI:DIR2(-MDMF|-CHK|-LIT)?(-RO|-Verifier)?:/.exec(dirCap.trim());
  if (m === null) {
    throw new WebError("TAHOE_ERR_WEB_BAD_CAP", 400, `'${dirCap.slice(0, 60)}' is not a directory cap`, {
      hint: "t=check on a directory takes URI:DIR2..., URI:DIR2-MDMF..., URI:DIR2-CHK... or URI:DIR2-LIT....",
    });
  }
  const kind = { "": "SSK", "-MDMF": "MDMF", "-CHK": "CHK", "-LIT": "LIT" }[m[1] ?? ""] as string;
  return `URI:${kind}${m[2] ?? ""}:${dirCap.trim().slice(m[0].length)}`;
}

/** The storage index is the first field of every verify cap (CHK, SSK, MDMF and their DIR2 forms). */
function storageIndexOf(verifycap: string): string {
  return verifycap === "" ? "" : (verifycap.split(":")[2] ?? "");
}

function directoryNode(d: WebDirectory, path: readonly string[]): WalkedNode {
  const verifycap = d.verifyCap ?? "";
  return {
    type: "directory",
    path,
    cap: d.cap,
    verifycap,
    // Tahoe: a read-only directory (and so an immutable one) is not repairable.
    repaircap: d.writable ? d.cap : "",
    storageIndex: storageIndexOf(verifycap),
    checkCap: backingFileCap(d.cap),
    mutable: d.format === "SDMF" || d.format === "MDMF",
    literal: d.format === "LIT",
  };
}

function fileNode(cap: string, readOnly: boolean, path: readonly string[]): WalkedNode {
  const verifycap = verifyCapText(cap) ?? "";
  const mutable = /^URI:(SSK|MDMF)/.test(cap);
  let size: number | undefined;
  let literal = false;
  if (!mutable) {
    try {
      const parsed = parseImmutableCap(cap);
      literal = parsed.kind === "lit";
      size = parsed.kind === "lit" ? parsed.data.length : parsed.size;
    } catch {
      // A cap the directory layer classed as a file but nobody can parse: counted, not sized.
    }
  }
  return {
    type: "file",
    path,
    cap,
    verifycap,
    // Tahoe: a CHK file is repaired from its verify cap, a mutable one only with its write cap.
    repaircap: mutable ? (readOnly ? "" : cap) : verifycap,
    storageIndex: storageIndexOf(verifycap),
    checkCap: cap,
    mutable,
    literal,
    size,
  };
}

function unknownNode(e: WebDirectoryEntry, path: readonly string[]): WalkedNode {
  const cap = e.writeCap ?? e.readCap ?? "";
  return {
    type: "unknown",
    path,
    cap,
    verifycap: "",
    repaircap: "",
    storageIndex: "",
    checkCap: "",
    mutable: false,
    literal: false,
  };
}

/** Reads a directory's children, with the packed length when the node can tell it. */
async function childrenOf(
  d: WebDirectory,
): Promise<{ entries: readonly WebDirectoryEntry[]; size?: number }> {
  if (d.listWithSize !== undefined) return d.listWithSize();
  return { entries: await d.list() };
}

/**
 * Tahoe's dirnode.deep_traverse: depth first, one directory at a time; in each directory the
 * children sorted by name, its files (and unknown nodes) before its subdirectories. A node whose
 * verify cap was seen already (a second link, or a loop) is neither reported nor walked; LIT
 * files, which have none, always are. Each directory is reported before its children are read,
 * then "entered" with their count and its size.
 */
export async function* deepWalk(
  root: WebDirectory,
  open: (cap: string) => Promise<WebDirectory>,
  signal?: AbortSignal,
): AsyncGenerator<WalkEvent> {
  const found = new Set<string>();
  if (root.verifyCap !== undefined) found.add(root.verifyCap);
  async function* visit(d: WebDirectory, path: readonly string[]): AsyncGenerator<WalkEvent> {
    signal?.throwIfAborted();
    const node = directoryNode(d, path);
    yield { kind: "node", node };
    const { entries, size } = await childrenOf(d);
    signal?.throwIfAborted();
    yield { kind: "entered", directory: { node, children: entries.length, size } };
    const dirs: [string, WebDirectoryEntry][] = [];
    // Python's sorted(): by code point, which is the UTF-8 byte order.
    const sorted = [...entries].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
    for (const e of sorted) {
      const childPath = [...path, e.name];
      const cap = e.writeCap ?? e.readCap;
      if (cap === undefined || e.kind === "unknown") {
        yield { kind: "node", node: unknownNode(e, childPath) };
        continue;
      }
      const verifier = verifyCapText(cap);
      if (verifier !== undefined) {
        if (found.has(verifier)) continue;
        found.add(verifier);
      }
      if (e.kind === "dirnode") dirs.push([cap, e]);
      else yield { kind: "node", node: fileNode(cap, e.writeCap === undefined, childPath) };
    }
    for (const [cap, e] of dirs) yield* visit(await open(cap), [...path, e.name]);
  }
  yield* visit(root, []);
}

/** The JSON unit Tahoe's ManifestStreamer and DeepCheckStreamer write for a node. */
export function manifestUnit(node: WalkedNode): Record<string, unknown> {
  return {
    path: node.path,
    cap: node.cap,
    type: node.type,
    verifycap: node.verifycap,
    repaircap: node.repaircap,
    "storage-index": node.storageIndex,
  };
}

/**
 * Runs `work` for every node of the walk, at most `atOnce` at a time, and yields their answers in
 * walk order; `stats` sees every node and directory as the walk reaches it.
 */
export async function* inWalkOrder<T>(
  root: WebDirectory,
  open: (cap: string) => Promise<WebDirectory>,
  stats: WalkObserver,
  work: (n: WalkedNode) => Promise<T>,
  atOnce: number,
  signal?: AbortSignal,
): AsyncGenerator<T> {
  const inFlight: Promise<T>[] = [];
  for await (const event of deepWalk(root, open, signal)) {
    if (event.kind === "entered") {
      stats.enterDirectory(event.directory);
      continue;
    }
    stats.addNode(event.node);
    const done = work(event.node);
    done.catch(() => {}); // awaited below in order; this keeps an early failure from being unhandled
    inFlight.push(done);
    if (inFlight.length >= atOnce) yield await (inFlight.shift() as Promise<T>);
  }
  while (inFlight.length > 0) yield await (inFlight.shift() as Promise<T>);
}
