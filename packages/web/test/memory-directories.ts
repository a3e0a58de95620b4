import { randomBytes } from "node:crypto";
import { formatLiteralCap } from "@lafs/immutable";
import { TahoeError } from "@lafs/interface";
import { formatMutableCap, mutableCapsOf } from "@lafs/mutable";
import { verifyCapText } from "../src/directory-json.js";
import type { WebDirectories, WebDirectory, WebDirectoryChild, WebDirectoryEntry } from "../src/index.js";

/**
 * An in-memory stand-in for @lafs/directory behind apps/node (the real one is exercised by
 * tests/grid): real DIR2 caps, entries kept per directory, Tahoe's replace and read-only rules
 * and link times, and the TAHOE_ERR_DIRECTORY_* codes the routes map to statuses.
 */
export function createMemoryDirectories(): WebDirectories & {
  dirs: Map<string, Map<string, WebDirectoryEntry>>;
  /** Edits (set, setMany, delete, rename) per directory cap: one per read-modify-publish of a real one. */
  edits: Map<string, number>;
} {
  const dirs = new Map<string, Map<string, WebDirectoryEntry>>();
  const edits = new Map<string, number>();
  /** Read and write caps of each mutable directory, by either. */
  const keyOf = new Map<string, string>();
  const readOf = new Map<string, string>();

  const kindOf = (cap: string): WebDirectoryEntry["kind"] =>
    cap.startsWith("URI:DIR2") ? "dirnode" : /^URI:(CHK|LIT|SSK|MDMF)/.test(cap) ? "filenode" : "unknown";
  const error = (code: string, message: string) =>
    new TahoeError(code as never, message, { hint: "memory directories" });

  function entryOf(name: string, child: WebDirectoryChild, old?: WebDirectoryEntry): WebDirectoryEntry {
    const now = Date.now() / 1000;
    const crtime = (old?.metadata.tahoe as { linkcrtime?: number } | undefined)?.linkcrtime ?? now;
    return {
      name,
      writeCap: child.writeCap,
      readCap: child.readCap,
      metadata: { ...(child.metadata ?? {}), tahoe: { linkcrtime: crtime, linkmotime: now } },
      kind: kindOf(child.writeCap ?? child.readCap ?? ""),
    };
  }

  function handle(cap: string): WebDirectory {
    const key = keyOf.get(cap);
    const store = key === undefined ? undefined : dirs.get(key);
    if (key === undefined || store === undefined)
      throw error("TAHOE_ERR_DIRECTORY_NOT_FOUND", `no such directory ${cap.slice(0, 20)}`);
    const writable = !cap.includes("-RO:") && cap === key && !/^URI:DIR2-(LIT|CHK):/.test(cap);
    const mustWrite = () => {
      if (!writable) throw error("TAHOE_ERR_DIRECTORY_READ_ONLY", "this directory is read-only");
      edits.set(cap, (edits.get(cap) ?? 0) + 1);
    };
    const readOnlyView = (e: WebDirectoryEntry): WebDirectoryEntry =>
      writable ? e : { ...e, writeCap: undefined };
    const self: WebDirectory = {
      cap,
      readCap: readOf.get(key) as string,
      // Each directory its own verify cap, as deep traversals tell directories apart by it.
      verifyCap: verifyCapText(key),
      writable,
      format: key.startsWith("URI:DIR2-LIT") ? "LIT" : key.startsWith("URI:DIR2-MDMF") ? "MDMF" : "SDMF",
      list: async () => [...store.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map(readOnlyView),
      get: async (name) => {
        const e = store.get(name.normalize("NFC"));
        return e === undefined ? undefined : readOnlyView(e);
      },
      async set(name, child, opts) {
        mustWrite();
        const n = name.normalize("NFC");
        const old = store.get(n);
        if (old !== undefined && opts?.replace === false)
          throw error("TAHOE_ERR_DIRECTORY_EXISTS", `${n} exists`);
        store.set(n, entryOf(n, child, old));
      },
      async setMany(children, opts) {
        mustWrite();
        // All or none, as one edit of a real directory is.
        for (const c of children)
          if (opts?.replace === false && store.has(c.name.normalize("NFC")))
            throw error("TAHOE_ERR_DIRECTORY_EXISTS", `${c.name} exists`);
        for (const { name, ...child } of children) {
          const n = name.normalize("NFC");
          store.set(n, entryOf(n, child, store.get(n)));
        }
      },
      async delete(name) {
        mustWrite();
        const old = store.get(name);
        if (old === undefined) throw error("TAHOE_ERR_DIRECTORY_NO_SUCH_CHILD", `no child ${name}`);
        store.delete(name);
        return old;
      },
      async rename(from, to, opts) {
        mustWrite();
        const old = store.get(from);
        if (old === undefined) throw error("TAHOE_ERR_DIRECTORY_NO_SUCH_CHILD", `no child ${from}`);
        const target = opts?.toDirectory ?? self;
        await target.set(
          to,
          { writeCap: old.writeCap, readCap: old.readCap, metadata: old.metadata },
          { replace: opts?.replace ?? true },
        );
        if (!(target.cap === self.cap && from === to)) store.delete(from);
      },
    };
    return self;
  }

  return {
    dirs,
    edits,
    async create({ format, children }) {
      const caps = mutableCapsOf(format, randomBytes(16), randomBytes(32));
      const prefix = format === "SDMF" ? "URI:DIR2" : "URI:DIR2-MDMF";
      const strip = (c: string) => c.slice(c.indexOf(":", 4) + 1);
      const writeCap = `${prefix}:${strip(formatMutableCap(caps.write))}`;
      const readCap = `${prefix}-RO:${strip(formatMutableCap(caps.read))}`;
      const store = new Map<string, WebDirectoryEntry>();
      for (const c of children ?? [])
        store.set(c.name, { ...entryOf(c.name, c), metadata: c.metadata ?? {} });
      dirs.set(writeCap, store);
      keyOf.set(writeCap, writeCap);
      keyOf.set(readCap, writeCap);
      readOf.set(writeCap, readCap);
      return { writeCap, readCap };
    },
    async createImmutable({ children }) {
      for (const c of children) {
        if (c.writeCap !== undefined || !/^URI:(CHK|LIT|DIR2-CHK|DIR2-LIT):/.test(c.readCap ?? "")) {
          throw error("TAHOE_ERR_DIRECTORY_NOT_DEEP_IMMUTABLE", `child ${c.name} is not immutable`);
        }
      }
      if (children.length === 0) return { cap: "URI:DIR2-LIT:" };
      // Stored as a read-only directory under a LIT-style cap of its own.
      const cap = `URI:DIR2-LIT:${formatLiteralCap(randomBytes(8)).slice(8)}`;
      const store = new Map<string, WebDirectoryEntry>();
      for (const c of children) store.set(c.name, { ...entryOf(c.name, c), metadata: c.metadata ?? {} });
      dirs.set(cap, store);
      keyOf.set(cap, cap);
      readOf.set(cap, cap);
      return { cap };
    },
    async open(cap) {
      if (cap === "URI:DIR2-LIT:" && !dirs.has(cap)) {
        dirs.set(cap, new Map());
        keyOf.set(cap, cap);
        readOf.set(cap, cap);
      }
      return handle(cap);
    },
  };
}
