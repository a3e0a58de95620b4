import type { FastifyReply } from "fastify";
import {
  type ListingRow,
  type ListingSort,
  rowOf,
  SORT_KEYS,
  type SortKey,
  sortOf,
  sortRows,
} from "./directory-view.js";
import { WebError } from "./errors.js";
import { html, type SafeHtml } from "./html.js";
import { page, SCRIPT_PAGE_CSP } from "./page.js";
import type { Query } from "./request-args.js";
import type { WebDirectory, WebDirectoryEntry, WebNodeStatus } from "./web-node.js";
import { abbreviateSpace, humanTime } from "./welcome.js";

/** Where the directory page's script is served (static-routes.ts). */
export const DIRECTORY_SCRIPT_PATH = "/static/directory.js";

/** A directory reached from the cap in the URL by a path of child names. */
export interface DirectoryPlace {
  /** The cap in the URL: the root of the breadcrumbs. */
  rootCap: string;
  /** The names from the root down to this directory. */
  path: readonly string[];
}

/** `/uri/ROOT/a/b/`: every name percent-encoded on its own, with the trailing slash of a directory. */
export function placeUrl(place: DirectoryPlace, depth = place.path.length): string {
  const names = place.path.slice(0, depth).map((n) => `${encodeURIComponent(n)}/`);
  return `/uri/${encodeURIComponent(place.rootCap)}/${names.join("")}`;
}

const LABELS: Record<SortKey, string> = { name: "Name", size: "Size", type: "Type", modified: "Modified" };

function breadcrumbs(place: DirectoryPlace): SafeHtml {
  const last = place.path.length;
  const crumb = (label: string, depth: number) =>
    depth === last
      ? html`<li><a href="${placeUrl(place, depth)}" aria-current="page">${label}</a></li>`
      : html`<li><a href="${placeUrl(place, depth)}">${label}</a></li>`;
  return html`<nav aria-label="Breadcrumb"><ol class="breadcrumbs">${crumb("root", 0)}${place.path.map((name, i) => crumb(name, i + 1))}</ol></nav>`;
}

/** A column header that sorts by its key; a second click on the current key turns the order round. */
function sortHeader(key: SortKey, sort: ListingSort): SafeHtml {
  const current = sort.key === key;
  const next = current && !sort.descending ? `-${key}` : key;
  const order = current ? (sort.descending ? "descending" : "ascending") : undefined;
  const arrow = current ? (sort.descending ? " ▼" : " ▲") : "";
  const label = html`<a href="?sort=${next}">${LABELS[key]}${arrow}<span class="visually-hidden">${current ? ` (sorted ${order}; sort ${sort.descending ? "ascending" : "descending"})` : ", sort by this column"}</span></a>`;
  return order === undefined
    ? html`<th scope="col">${label}</th>`
    : html`<th scope="col" aria-sort="${order}">${label}</th>`;
}

function copyButton(cap: string, label: string): SafeHtml {
  // Hidden until the script runs: without JavaScript there is no clipboard to write to.
  return html`<button type="button" class="copy-cap" data-cap="${cap}" hidden>${label}</button>`;
}

/** A write cap stays folded away: one look over a shoulder at it gives away the right to change the thing. */
function writeCapDetails(cap: string, what: string): SafeHtml {
  return html`<details class="write-cap"><summary>Show write cap<span class="visually-hidden"> of ${what}</span></summary>
<p class="hint">Anyone with this cap can change ${what}.</p><code class="cap">${cap}</code> ${copyButton(cap, "Copy write cap")}</details>`;
}

function sizeCell(size: number | undefined): SafeHtml {
  if (size === undefined) return html``;
  // 123,456: grouped by hand, as Intl's formatter costs more than the rest of the row.
  const exact = String(size).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return html`<span title="${exact} bytes">${abbreviateSpace(size)}</span>`;
}

function timeCell(ms: number | undefined): SafeHtml {
  if (ms === undefined) return html``;
  // The script rewrites it in the reader's own time zone; without it the UTC time stays.
  return html`<time datetime="${new Date(ms).toISOString()}" data-local>${humanTime(ms)}</time>`;
}

function row(place: DirectoryPlace, r: ListingRow, writable: boolean): SafeHtml {
  const here = placeUrl(place);
  const under = `${here}${encodeURIComponent(r.name)}`;
  const link = r.kind === "directory" ? `${under}/` : under;
  const info =
    r.kind === "directory"
      ? `${under}/?t=info`
      : `/uri/${encodeURIComponent(r.cap)}?t=info&filename=${encodeURIComponent(r.name)}`;
  const nameCell =
    r.kind === "unknown"
      ? html`<span class="entry-name">${r.name}</span>`
      : html`<a class="entry-name" href="${link}">${r.name}${r.kind === "directory" ? "/" : ""}</a>`;
  const edits = writable
    ? html` <a class="dir-rename" href="${here}?t=rename-form&amp;name=${encodeURIComponent(r.name)}" data-name="${r.name}">Rename<span class="visually-hidden"> ${r.name}</span></a>
<a class="dir-delete" href="${here}?t=confirm-delete&amp;name=${encodeURIComponent(r.name)}" data-name="${r.name}">Delete<span class="visually-hidden"> ${r.name}</span></a>`
    : "";
  const download =
    r.kind === "file"
      ? html`<a href="${under}?save=true" download="${r.name}">Download<span class="visually-hidden"> ${r.name}</span></a> `
      : "";
  const what = r.kind === "directory" ? "this directory" : "this file";
  return html`<tr data-name="${r.name}">
<td data-label="Name" class="entry">${nameCell}</td>
<td data-label="Type">${r.typeLabel}${r.mime === undefined ? "" : html`<br><span class="hint">${r.mime}</span>`}</td>
<td data-label="Size">${sizeCell(r.size)}</td>
<td data-label="Modified">${timeCell(r.modified)}</td>
<td data-label="Actions" class="actions">${download}<a href="${info}">More info<span class="visually-hidden"> on ${r.name}</span></a>
${r.readCap === undefined ? "" : copyButton(r.readCap, "Copy read cap")}${edits}
${r.writeCap === undefined ? "" : writeCapDetails(r.writeCap, what)}</td>
</tr>`;
}

/** What the last action did, from the 303's query; names that are not (or, deleted, still) here show nothing. */
function notice(query: Query, byName: ReadonlyMap<string, ListingRow>): SafeHtml {
  const done = query.done;
  const names = (query.name ?? "").split("/").filter((n) => n !== "");
  if (done === undefined || names.length === 0) return html``;
  if (done === "deleted") {
    const name = names[0] as string;
    if (byName.has(name) || query.cap === undefined) return html``;
    return html`<div id="notice" class="notice-ok" role="status"><p>Deleted <strong>${name}</strong> from this directory. The file or directory itself stays on the grid; its cap was:</p>
<p><code class="cap">${query.cap}</code> ${copyButton(query.cap, "Copy cap")}</p></div>`;
  }
  const found = names.map((n) => byName.get(n)).filter((r): r is ListingRow => r !== undefined);
  if (found.length === 0) return html``;
  const headline =
    done === "uploaded"
      ? `Uploaded ${found.length} file${found.length === 1 ? "" : "s"}`
      : done === "created"
        ? "Created the directory"
        : done === "renamed"
          ? `Renamed ${query.from ?? "a child"} to`
          : "Linked";
  return html`<div id="notice" class="notice-ok" role="status"><p>${headline}:</p><ul>${found.map(
    (r) =>
      html`<li><strong>${r.name}</strong>: <code class="cap">${r.readCap ?? r.cap}</code> ${copyButton(r.readCap ?? r.cap, "Copy cap")}${r.writeCap === undefined ? "" : writeCapDetails(r.writeCap, r.kind === "directory" ? "this directory" : "this file")}</li>`,
  )}</ul></div>`;
}

/** The hidden fields every write form sends: back to this page (303) with the result shown. */
function backFields(place: DirectoryPlace): SafeHtml {
  return html`<input type="hidden" name="when_done" value="${placeUrl(place)}"><input type="hidden" name="notice" value="true">`;
}

function writeForms(place: DirectoryPlace): SafeHtml {
  const here = placeUrl(place);
  return html`<section aria-labelledby="upload-heading"><h2 id="upload-heading">Upload files</h2>
<form id="dir-upload" method="post" action="${here}?t=upload" enctype="multipart/form-data">
${backFields(place)}
<div id="drop-zone" class="drop-zone">
<p><label for="upload-name">Name in this directory (one file only; leave empty to keep each file's own name)</label>
<input type="text" id="upload-name" name="name" autocomplete="off"></p>
<p><label for="upload-files">Files</label> <input type="file" id="upload-files" name="file" multiple required></p>
<p id="drop-hint" class="hint" hidden>Or drop files here.</p>
<p><button type="submit">Upload</button></p>
</div>
</form>
<ul id="upload-list" class="upload-list" aria-live="polite"></ul></section>
<section aria-labelledby="mkdir-heading"><h2 id="mkdir-heading">Make a directory</h2>
<form id="dir-mkdir" method="post" action="${here}?t=mkdir">
${backFields(place)}
<p><label for="mkdir-name">Name</label> <input type="text" id="mkdir-name" name="name" required autocomplete="off"></p>
<p><button type="submit">Create directory</button></p>
</form></section>
<dialog id="delete-dialog" aria-labelledby="delete-title">
<form method="post" action="${here}?t=unlink">
${backFields(place)}
<input type="hidden" name="name" value="">
<h2 id="delete-title">Delete <span class="delete-name"></span>?</h2>
<p>This removes the link from this directory. Whoever has the cap can still read the file or directory.</p>
<p><button type="submit" class="danger">Delete</button> <button type="button" class="secondary" value="cancel">Cancel</button></p>
</form></dialog>`;
}

export interface DirectoryPageInput {
  status: WebNodeStatus;
  place: DirectoryPlace;
  dir: WebDirectory;
  entries: readonly WebDirectoryEntry[];
  query: Query;
  sort: ListingSort;
}

/** The directory page: breadcrumbs, the listing in the asked order, and (when writable) the forms. */
export function directoryPage(input: DirectoryPageInput): string {
  const { place, dir, sort } = input;
  const rows = sortRows(input.entries.map(rowOf), sort);
  const byName = new Map(rows.map((r) => [r.name, r]));
  const title = place.path.length === 0 ? "root" : (place.path[place.path.length - 1] as string);
  const here = placeUrl(place);
  const listing =
    rows.length === 0
      ? html`<p id="empty-directory">This directory is empty.</p>`
      : html`<table id="listing" class="reflow listing">
<caption class="visually-hidden">Contents of ${title}, sorted by ${sort.key}</caption>
<thead><tr>${SORT_KEYS.map((k) => sortHeader(k, sort))}<th scope="col">Actions</th></tr></thead>
<tbody>${rows.map((r) => row(place, r, dir.writable))}</tbody>
</table>`;
  // The script posts and returns to this URL (the page itself may have been reached without the trailing slash).
  const body = html`${breadcrumbs(place)}
<h1 id="directory-title" data-here="${here}">Directory: ${title}</h1>
${notice(input.query, byName)}
<div class="dir-caps">
<p>${dir.writable ? "You can change this directory." : html`<span id="read-only">This directory is read-only: you can browse and download, not change it.</span>`}
Its read cap, to share it read-only: <code class="cap" id="dir-read-cap">${dir.readCap}</code> ${copyButton(dir.readCap, "Copy read cap")}</p>
${dir.writable ? writeCapDetails(dir.cap, "this directory") : ""}
</div>
${listing}
${dir.writable ? writeForms(place) : ""}
<p><a href="${here}?t=info">More info on this directory</a> - <a href="${here}?t=json">This directory as JSON</a></p>`;
  const script = html`<script src="${DIRECTORY_SCRIPT_PATH}" defer></script>`;
  return page(`${title} - Tahoe-LAFS`, body, input.status, script);
}

/** `?t=confirm-delete&name=NAME`: the step that makes a delete deliberate without JavaScript. */
export function confirmDeletePage(
  status: WebNodeStatus,
  place: DirectoryPlace,
  entry: WebDirectoryEntry,
): string {
  const here = placeUrl(place);
  const r = rowOf(entry);
  const body = html`${breadcrumbs(place)}
<h1>Delete ${r.name}?</h1>
<p>This removes <strong>${r.name}</strong> (${r.typeLabel}${r.size === undefined ? "" : `, ${abbreviateSpace(r.size)}`}) from this directory.
Whoever has its cap can still read it; keep the cap if you may want it back:</p>
<p><code class="cap">${r.readCap ?? r.cap}</code></p>
<form id="confirm-delete" method="post" action="${here}?t=unlink">
${backFields(place)}
<input type="hidden" name="name" value="${r.name}">
<p><button type="submit" class="danger">Delete ${r.name}</button> <a href="${here}">Cancel</a></p>
</form>`;
  return page(`Delete ${r.name}? - Tahoe-LAFS`, body, status);
}

/** `?t=rename-form&name=NAME`: renaming one child without JavaScript. */
export function renamePage(status: WebNodeStatus, place: DirectoryPlace, entry: WebDirectoryEntry): string {
  const here = placeUrl(place);
  const body = html`${breadcrumbs(place)}
<h1>Rename ${entry.name}</h1>
<form id="rename" method="post" action="${here}?t=rename">
${backFields(place)}
<input type="hidden" name="from_name" value="${entry.name}">
<p><label for="rename-to">New name</label> <input type="text" id="rename-to" name="to_name" value="${entry.name}" required autocomplete="off"></p>
<p><button type="submit">Rename</button> <a href="${here}">Cancel</a></p>
</form>`;
  return page(`Rename ${entry.name} - Tahoe-LAFS`, body, status);
}

/** The `t=` values the directory page answers besides none: the no-JavaScript steps of a delete and a rename. */
export const DIRECTORY_PAGE_T: ReadonlySet<string> = new Set(["confirm-delete", "rename-form"]);

/**
 * Answers GET on a directory with no `t=` (the listing) or with one of DIRECTORY_PAGE_T. The
 * listing runs the page's script, so it asks for the script CSP (app.ts keeps it).
 */
export async function replyWithDirectoryPage(
  reply: FastifyReply,
  t: string,
  input: Omit<DirectoryPageInput, "sort">,
) {
  reply.type("text/html; charset=utf-8");
  if (t === "") {
    const sort = sortOf(input.query);
    return reply.header("Content-Security-Policy", SCRIPT_PAGE_CSP).send(directoryPage({ ...input, sort }));
  }
  const name = input.query.name ?? "";
  const entry = input.entries.find((e) => e.name === name.normalize("NFC"));
  if (entry === undefined) {
    throw new WebError("TAHOE_ERR_WEB_NOT_FOUND", 404, `No such child: ${name.slice(0, 200)}`, {
      hint: `t=${t} needs name= of a child of this directory; go back to the directory page and pick one.`,
    });
  }
  const page = t === "confirm-delete" ? confirmDeletePage : renamePage;
  return reply.send(page(input.status, input.place, entry));
}
