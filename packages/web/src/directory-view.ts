import { mimeTypeOf } from "./content-type.js";
import { badRequest, type Query } from "./request-args.js";
import type { WebDirectoryEntry } from "./web-node.js";

/** The columns a listing sorts by (`?sort=KEY`, `?sort=-KEY` for descending). */
export const SORT_KEYS = ["name", "size", "type", "modified"] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export interface ListingSort {
  key: SortKey;
  descending: boolean;
}

/** One child as the directory page shows it. */
export interface ListingRow {
  name: string;
  kind: "directory" | "file" | "unknown";
  mutable: boolean;
  /** "directory", "mutable directory", "file (immutable)", ... plus a format. */
  typeLabel: string;
  /** Guessed from the name's extension; files only. */
  mime: string | undefined;
  size: number | undefined;
  /** When the link last changed (Tahoe's linkmotime), ms since the epoch. */
  modified: number | undefined;
  /** The cap the page links: the write cap when the directory holds one. */
  cap: string;
  readCap: string | undefined;
  writeCap: string | undefined;
}

/** `?sort=` as the page's column headers write it; anything else is a clear 400. */
export function sortOf(query: Query): ListingSort {
  const value = (query.sort ?? "").trim();
  if (value === "") return { key: "name", descending: false };
  const descending = value.startsWith("-");
  const key = descending ? value.slice(1) : value;
  if (!(SORT_KEYS as readonly string[]).includes(key)) {
    throw badRequest(
      `unknown sort=${value.slice(0, 40)} for a directory page`,
      `sort= is one of ${SORT_KEYS.join(", ")}, with a leading '-' for descending order.`,
    );
  }
  return { key: key as SortKey, descending };
}

/** Tahoe keeps link times in seconds under metadata.tahoe; older entries have ctime/mtime. */
function modifiedOf(metadata: Record<string, unknown>): number | undefined {
  const tahoe = metadata.tahoe as Record<string, unknown> | undefined;
  const seconds = tahoe?.linkmotime ?? tahoe?.linkcrtime ?? metadata.mtime ?? metadata.ctime;
  return typeof seconds === "number" && Number.isFinite(seconds) ? seconds * 1000 : undefined;
}

/**
 * What t=json says of a file child (mutable, format, size), read off the cap's text: parsing
 * every cap (base32, and the verify cap's hashes) was most of the cost of a 1,000-entry page.
 */
function fileFacts(cap: string): { mutable: boolean; format?: string; size?: number } {
  if (/^URI:(SSK|MDMF)/.test(cap))
    return { mutable: true, format: cap.startsWith("URI:SSK") ? "SDMF" : "MDMF" };
  const chk = /^URI:CHK:[a-z2-7]+:[a-z2-7]+:\d+:\d+:(\d+)$/.exec(cap);
  if (chk !== null) return { mutable: false, format: "CHK", size: Number(chk[1]) };
  // Base32 without padding: five bits a character, the last partial byte dropped.
  const lit = /^URI:LIT:([a-z2-7]*)$/.exec(cap);
  if (lit !== null)
    return { mutable: false, format: "CHK", size: Math.floor(((lit[1] as string).length * 5) / 8) };
  return { mutable: false };
}

export function rowOf(entry: WebDirectoryEntry): ListingRow {
  const cap = entry.writeCap ?? entry.readCap ?? "";
  const data =
    entry.kind === "filenode"
      ? fileFacts(cap)
      : { mutable: entry.kind === "dirnode" && !/^URI:DIR2-(CHK|LIT):/.test(cap) };
  const mutable = data.mutable === true;
  const kind = entry.kind === "dirnode" ? "directory" : entry.kind === "filenode" ? "file" : "unknown";
  const format = "format" in data ? data.format : undefined;
  const typeLabel =
    kind === "directory"
      ? mutable
        ? "directory"
        : "directory (immutable)"
      : kind === "file"
        ? `file (${mutable ? "mutable" : "immutable"}${format === undefined ? "" : `, ${format}`})`
        : "unknown cap";
  return {
    name: entry.name,
    kind,
    mutable,
    typeLabel,
    mime: kind === "file" ? mimeTypeOf(entry.name) : undefined,
    size: "size" in data ? data.size : undefined,
    modified: modifiedOf(entry.metadata),
    cap,
    readCap: entry.readCap,
    writeCap: entry.writeCap,
  };
}

const byName = (a: ListingRow, b: ListingRow) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Compares two known values, an unknown one last whatever the direction. */
function compareKnown(a: number | string | undefined, b: number | string | undefined): number | undefined {
  if (a === undefined && b === undefined) return undefined;
  if (a === undefined) return Number.POSITIVE_INFINITY;
  if (b === undefined) return Number.NEGATIVE_INFINITY;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The rows in the asked order. Directories come before files for every key (as file managers
 * do); ties and unknown sizes or times fall back to the name, so the order is always the same.
 */
export function sortRows(rows: readonly ListingRow[], sort: ListingSort): ListingRow[] {
  const sign = sort.descending ? -1 : 1;
  const value = (r: ListingRow): number | string | undefined =>
    sort.key === "size"
      ? r.size
      : sort.key === "modified"
        ? r.modified
        : sort.key === "type"
          ? `${r.typeLabel} ${r.mime ?? ""}`
          : undefined;
  return [...rows].sort((a, b) => {
    const group = Number(a.kind !== "directory") - Number(b.kind !== "directory");
    if (group !== 0) return group;
    if (sort.key === "name") return sign * byName(a, b);
    const c = compareKnown(value(a), value(b));
    if (c === undefined || c === 0) return byName(a, b);
    // Infinity marks an unknown value: it stays last in both directions.
    return Number.isFinite(c) ? sign * c : c;
  });
}
