import { formatMutableCap, parseMutableCap, readCapOf } from "@lafs/mutable";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { parseFileCap } from "./caps.js";
import { checkFlag, replyToCheck } from "./check-routes.js";
import { replyToDeepCheck, replyToStreamManifest } from "./deep-check-routes.js";
import { backingFileCap } from "./deep-walk.js";
import { childJson, directoryJson, isDirectoryCapText, pythonJson } from "./directory-json.js";
import { DIRECTORY_PAGE_T, replyWithDirectoryPage } from "./directory-page.js";
import { abortOnClose } from "./disconnect.js";
import { WebError } from "./errors.js";
import { html } from "./html.js";
import { replyToStartOperation } from "./operation-routes.js";
import { page } from "./page.js";
import { badRequest, isTrue, putBody, type Query, queryOf, uploadFormatOf } from "./request-args.js";
import { assertMayUpload, type UploadAuthority } from "./upload-authority.js";
import { uploadFromForm } from "./upload-form.js";
import type { BodyLimits } from "./upload-source.js";
import type {
  WebDirectories,
  WebDirectory,
  WebDirectoryChild,
  WebDirectoryEntry,
  WebMutableFormat,
  WebNode,
  WebReplace,
} from "./web-node.js";

/** Serves a file reached through a directory (uri-routes' download), by its cap and name. */
export type FileServer = (
  request: FastifyRequest,
  reply: FastifyReply,
  cap: string,
  name?: string,
) => Promise<unknown>;

const MAX_JSON_BODY = 4 * 1024 * 1024;
/** Files one directory upload form may carry (the page's multi-file input); each is linked as it is stored. */
const MAX_FILES_PER_UPLOAD = 50;

function notFound(message: string): WebError {
  return new WebError("TAHOE_ERR_WEB_NOT_FOUND", 404, message, {
    hint: "GET the parent directory with ?t=json to see its children's names.",
  });
}

function conflict(message: string): WebError {
  return new WebError("TAHOE_ERR_WEB_CONFLICT", 409, message, {
    hint: "Give replace=true to replace the existing child, or pick another name.",
  });
}

/** The URL's path after /uri/: the cap and the child names, each percent-decoded on its own. */
function pathOf(request: FastifyRequest): { cap: string; names: string[] } {
  const raw = (request.raw.url ?? "").split("?")[0] ?? "";
  const parts = raw.replace(/^\/uri\//, "").split("/");
  const decode = (part: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw badRequest(
        "the URL's path is not valid percent-encoded UTF-8",
        "Percent-encode each name in UTF-8.",
      );
    }
  };
  const cap = decode(parts[0] ?? "");
  const rest = parts.slice(1).map(decode);
  // A trailing '/' names the directory itself, as in Tahoe.
  if (rest.length > 0 && rest[rest.length - 1] === "") rest.pop();
  for (const name of rest) checkName(name, "path");
  return { cap, names: rest.map((n) => n.normalize("NFC")) };
}

/** Tahoe's EmptyPathnameComponentError, and its refusal of '/' in a name. */
/**
 * A child name from a path segment or a form field: never empty (a path's empty segment gets
 * Tahoe's double-slash words, a field its own `ifEmpty` words), never with a slash (Tahoe's
 * "name= may not contain a slash"; its dirnode itself would take one, which no path could reach).
 */
function checkName(name: string, what: string, ifEmpty?: string): string {
  if (name === "") {
    throw badRequest(
      ifEmpty ?? "The webapi does not allow empty pathname components, i.e. a double slash",
      `Give a non-empty ${what}.`,
    );
  }
  if (name.includes("/"))
    throw badRequest(`${what} may not contain a slash`, "Names in a directory cannot contain '/'.");
  return name.normalize("NFC");
}

function replaceOf(query: Query): WebReplace {
  const value = query.replace?.trim();
  if (value === undefined || value === "") return true;
  if (value === "only-files") return "only-files";
  if (/^(true|t|1|on)$/i.test(value)) return true;
  if (/^(false|f|0|off)$/i.test(value)) return false;
  throw badRequest(`invalid replace= value: ${value}`, "replace= is true, false or only-files.");
}

/** Refuses what replace= forbids before any upload is wasted on it (Tahoe's ExistingChildError). */
function checkReplace(existing: WebDirectoryEntry | undefined, replace: WebReplace, name: string): void {
  if (existing === undefined) return;
  if (replace === false)
    throw conflict(`There was already a child by that name, and you asked me to not replace it: '${name}'`);
  if (replace === "only-files" && existing.kind === "dirnode") {
    throw conflict(
      `There was already a child by that name, and you asked me to not replace it: '${name}' is a directory`,
    );
  }
}

/** The caps to link for a cap: a write cap brings its read cap, as Tahoe's set_uri stores both. */
export function childOf(cap: string, metadata?: Record<string, unknown>): WebDirectoryChild {
  const text = cap.trim();
  const mutable = /^URI:(DIR2(-MDMF)?:|SSK:|MDMF:)/.exec(text);
  if (mutable !== null) {
    const dir = text.startsWith("URI:DIR2");
    const fileCap = dir
      ? text.replace(/^URI:DIR2-MDMF:/, "URI:MDMF:").replace(/^URI:DIR2:/, "URI:SSK:")
      : text;
    try {
      const ro = formatMutableCap(readCapOf(parseMutableCap(fileCap) as never));
      const readCap = dir
        ? ro.replace(/^URI:SSK-RO:/, "URI:DIR2-RO:").replace(/^URI:MDMF-RO:/, "URI:DIR2-MDMF-RO:")
        : ro;
      return { writeCap: text, readCap, metadata };
    } catch (error) {
      throw badRequest(
        `not a valid cap: ${text.slice(0, 80)}: ${(error as Error).message}`,
        "Copy the whole cap.",
      );
    }
  }
  return { readCap: text, metadata };
}

function directoriesOf(node: WebNode): WebDirectories {
  if (node.directories === undefined) {
    throw new WebError("TAHOE_ERR_WEB_NOT_SUPPORTED", 501, "directories are not supported by this node", {
      hint: "Use file caps directly.",
    });
  }
  return node.directories;
}

function formatOf(query: Query): WebMutableFormat {
  if (query.format === undefined || query.format.trim() === "") return "SDMF";
  const format = uploadFormatOf({ format: query.format });
  if (format === "CHK") {
    throw badRequest(
      "format=CHK is not a mutable directory format",
      "Directories are format=SDMF (default) or MDMF.",
    );
  }
  return format;
}

async function readJsonBody(request: FastifyRequest): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request.raw) {
    size += (chunk as Buffer).length;
    if (size > MAX_JSON_BODY)
      throw badRequest(`the JSON body is over ${MAX_JSON_BODY} bytes`, "Send fewer children per request.");
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badRequest(
      `the body is not JSON: ${(error as Error).message}`,
      'Send {"name": ["filenode", {"ro_uri": CAP}], ...}.',
    );
  }
}

/** A mkdir-with-children / set_children body: {name: [type, {rw_uri?, ro_uri?, metadata?}]}. */
function childrenOf(body: unknown): (WebDirectoryChild & { name: string })[] {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw badRequest(
      "the children must be a JSON object of name: [type, {...}]",
      'Send {"name": ["filenode", {"ro_uri": CAP}]}.',
    );
  }
  return Object.entries(body as Record<string, unknown>).map(([name, value]) => {
    checkName(name, "a child's name");
    const props = Array.isArray(value) ? (value[1] as Record<string, unknown> | undefined) : undefined;
    if (props === undefined || props === null || typeof props !== "object") {
      throw badRequest(
        `child '${name}' is not [type, {rw_uri, ro_uri, metadata}]`,
        "Give each child as [type, {...}].",
      );
    }
    const rw = typeof props.rw_uri === "string" && props.rw_uri !== "" ? props.rw_uri : undefined;
    const ro = typeof props.ro_uri === "string" && props.ro_uri !== "" ? props.ro_uri : undefined;
    if (rw === undefined && ro === undefined)
      throw badRequest(`child '${name}' has no rw_uri or ro_uri`, "Give each child a cap.");
    const metadata = (props.metadata as Record<string, unknown> | undefined) ?? {};
    const child = rw !== undefined ? childOf(rw, metadata) : { readCap: ro, metadata };
    return { name: name.normalize("NFC"), ...child, ...(ro !== undefined ? { readCap: ro } : {}) };
  });
}

function textReply(reply: FastifyReply, status: number, text: string): FastifyReply {
  return reply.code(status).type("text/plain; charset=utf-8").send(text);
}

/**
 * After a form's action. With when_done= the answer is Tahoe's redirect there (303, so the browser
 * GETs it and a reload never posts again); with notice=true as well (the directory page's forms)
 * the redirect carries what was done, which that page shows with the new cap. Without when_done:
 * the cap (or message) and a link back for a person, text for a program.
 */
function actionReply(
  request: FastifyRequest,
  reply: FastifyReply,
  query: Query,
  title: string,
  text: string,
  back: string,
  notice: Record<string, string> = {},
) {
  const whenDone = query.when_done?.trim();
  // Only a path on this node (as the welcome page's upload): a redirect elsewhere is ignored.
  if (whenDone !== undefined && /^(\/(?![/\\])|\.)/.test(whenDone)) {
    const params = isTrue(query.notice) ? new URLSearchParams(notice).toString() : "";
    const target = whenDone.replaceAll("%(uri)s", encodeURIComponent(text));
    const location = params === "" ? target : `${target}${target.includes("?") ? "&" : "?"}${params}`;
    return reply.code(303).header("Location", location).send();
  }
  if (whenDone !== undefined || request.headers.accept?.includes("text/html")) {
    const body = html`<h1>${title}</h1>
<p><code>${text}</code></p>
<p><a href="${back}">Back to the directory</a></p>`;
    return reply
      .code(200)
      .type("text/html; charset=utf-8")
      .send(page(`${title} - Tahoe-LAFS`, body));
  }
  return textReply(reply, 200, text);
}

function dirUrl(cap: string): string {
  return `/uri/${encodeURIComponent(cap)}/`;
}

/**
 * The directory half of Tahoe-LAFS's web API (web/directory.py): GET/PUT/POST/DELETE on
 * /uri/DIRCAP[/PATH]. `serveFile` answers a GET that reaches a file.
 */
export function createDirectoryHandlers(
  node: WebNode,
  limits: BodyLimits,
  serveFile: FileServer,
  uploadAuthority?: UploadAuthority,
) {
  const open = (cap: string, signal: AbortSignal) => {
    if (!isDirectoryCapText(cap))
      throw badRequest(`not a directory cap: ${cap.slice(0, 40)}`, "Give a URI:DIR2... cap.");
    // A malformed cap is the caller's mistake (400) whether or not this node serves directories.
    parseFileCap(backingFileCap(cap));
    return directoriesOf(node).open(cap, { signal });
  };

  /** Walks `names` down from `dir`; with `create`, a missing one becomes a new SDMF directory (Tahoe's intermediate directories). */
  async function walk(
    dir: WebDirectory,
    names: readonly string[],
    signal: AbortSignal,
    create: boolean,
  ): Promise<WebDirectory> {
    let current = dir;
    const seen: string[] = [];
    for (const name of names) {
      seen.push(name);
      const entry = await current.get(name);
      if (entry === undefined) {
        if (!create) throw notFound(`No such child: ${seen.join("/")}`);
        const made = await directoriesOf(node).create({ format: "SDMF", signal });
        await current.set(name, { writeCap: made.writeCap, readCap: made.readCap }, { replace: false });
        current = await open(made.writeCap, signal);
        continue;
      }
      if (entry.kind !== "dirnode") {
        throw badRequest(`${seen.join("/")} is not a directory`, "Only directories have children.");
      }
      current = await open((entry.writeCap ?? entry.readCap) as string, signal);
    }
    return current;
  }

  async function get(request: FastifyRequest, reply: FastifyReply) {
    const { cap, names } = pathOf(request);
    const query = queryOf(request);
    const signal = abortOnClose(reply);
    const root = await open(cap, signal);
    let dir = root;
    if (names.length > 0) {
      const parent = await walk(root, names.slice(0, -1), signal, false);
      const name = names[names.length - 1] as string;
      const entry = await parent.get(name);
      if (entry === undefined) throw notFound(`No such child: ${names.join("/")}`);
      if (entry.kind !== "dirnode") {
        const childCap = (entry.writeCap ?? entry.readCap) as string;
        const t = (query.t ?? "").trim();
        if (t === "json") return textReply(reply, 200, `${pythonJson(childJson(entry))}\n`);
        if (t === "uri") return textReply(reply, 200, childCap);
        if (t === "readonly-uri") return textReply(reply, 200, entry.readCap ?? childCap);
        return serveFile(request, reply, childCap, name);
      }
      dir = await open((entry.writeCap ?? entry.readCap) as string, signal);
    }
    const t = (query.t ?? "").trim();
    if (t === "uri") return textReply(reply, 200, dir.cap);
    if (t === "readonly-uri") return textReply(reply, 200, dir.readCap);
    const entries = await dir.list();
    if (t === "json") return textReply(reply, 200, `${pythonJson(directoryJson(dir, entries))}\n`);
    if (t === "info") {
      const body = html`<h1>More info on directory ${names.join("/")}</h1>
<table><tbody><tr><th>Type</th><td>${dir.writable ? "mutable" : "read-only"} directory (${dir.format})</td></tr>
<tr><th>Children</th><td>${String(entries.length)}</td></tr>
<tr><th>Read cap</th><td><code>${dir.readCap}</code></td></tr>
<tr><th>Verify cap</th><td><code>${dir.verifyCap ?? "(none: a literal directory)"}</code></td></tr></tbody></table>`;
      return reply.type("text/html; charset=utf-8").send(page("More info - Tahoe-LAFS", body));
    }
    if (t === "" || DIRECTORY_PAGE_T.has(t)) {
      const place = { rootCap: cap, path: names };
      return replyWithDirectoryPage(reply, t, { status: node.status(), place, dir, entries, query });
    }
    throw badRequest(
      `unknown t=${t} for a directory`,
      "A directory takes t=json, t=uri, t=readonly-uri, t=info, t=confirm-delete, t=rename-form, or no t.",
    );
  }

  async function put(request: FastifyRequest, reply: FastifyReply) {
    await assertMayUpload(request, uploadAuthority);
    const { cap, names } = pathOf(request);
    const query = queryOf(request);
    const t = (query.t ?? "").trim();
    const signal = abortOnClose(reply);
    const root = await open(cap, signal);
    if (names.length === 0) {
      throw badRequest(
        "PUT to a directory needs a child name: PUT /uri/DIRCAP/NAME",
        "Add the new child's name to the path.",
      );
    }
    const parent = await walk(root, names.slice(0, -1), signal, true);
    const name = names[names.length - 1] as string;
    const replace = replaceOf(query);
    const existing = await parent.get(name);
    if (t === "uri") {
      const body = String(await readJsonBodyText(request)).trim();
      checkReplace(existing, replace, name);
      await parent.set(name, childOf(body), { replace });
      return textReply(reply, existing === undefined ? 201 : 200, body);
    }
    if (t === "mkdir") {
      checkReplace(existing, replace, name);
      const made = await directoriesOf(node).create({ format: formatOf(query), signal });
      await parent.set(name, { writeCap: made.writeCap, readCap: made.readCap }, { replace });
      return textReply(reply, existing === undefined ? 201 : 200, made.writeCap);
    }
    if (t !== "")
      throw badRequest(`PUT to a directory: bad t=${t}`, "PUT takes t=uri, t=mkdir, or no t (a file).");
    // A mutable file already there is overwritten in place, whatever format was asked for (Tahoe).
    if (existing?.writeCap !== undefined && /^URI:(SSK|MDMF):/.test(existing.writeCap)) {
      const { body, options } = putBody(request, reply, limits);
      const { cap: fileCap } = await node.overwriteMutable(existing.writeCap, body, options);
      return textReply(reply, 200, fileCap);
    }
    checkReplace(existing, replace, name);
    const format = uploadFormatOf(query);
    const { body, options } = putBody(request, reply, limits);
    const { cap: fileCap } =
      format === "CHK"
        ? await node.upload(body, options)
        : await node.createMutable(body, { ...options, format });
    await parent.set(name, childOf(fileCap), { replace });
    return textReply(reply, existing === undefined ? 201 : 200, fileCap);
  }

  async function readJsonBodyText(request: FastifyRequest): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request.raw) {
      size += (chunk as Buffer).length;
      if (size > 64 * 1024)
        throw badRequest("a cap body over 64 KiB", "PUT ?t=uri takes one cap as the body.");
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString("utf8");
  }

  async function del(request: FastifyRequest, reply: FastifyReply) {
    await assertMayUpload(request, uploadAuthority);
    const { cap, names } = pathOf(request);
    const signal = abortOnClose(reply);
    if (names.length === 0)
      throw badRequest(
        "DELETE needs a child name: DELETE /uri/DIRCAP/NAME",
        "Add the child's name to the path.",
      );
    const parent = await walk(await open(cap, signal), names.slice(0, -1), signal, false);
    const name = names[names.length - 1] as string;
    if ((await parent.get(name)) === undefined) throw notFound(`No such child: ${names.join("/")}`);
    const removed = await parent.delete(name);
    return textReply(reply, 200, removed.writeCap ?? removed.readCap ?? "");
  }

  async function post(request: FastifyRequest, reply: FastifyReply) {
    await assertMayUpload(request, uploadAuthority);
    const { cap, names } = pathOf(request);
    const query = queryOf(request);
    const signal = abortOnClose(reply);
    const t = (query.t ?? "").trim();
    const root = await open(cap, signal);
    // POST DIR/PATH/FILE?t=check reaches a file (Tahoe's FileNodeHandler), not a directory.
    if (t === "check" && names.length > 0) {
      const parent = await walk(root, names.slice(0, -1), signal, false);
      const entry = await parent.get(names[names.length - 1] as string);
      if (entry === undefined) throw notFound(`No such child: ${names.join("/")}`);
      if (entry.kind !== "dirnode") {
        const fileCap = (entry.writeCap ?? entry.readCap) as string;
        const typed = request as FastifyRequest<{ Params: { cap: string } }>;
        return replyToCheck(typed, reply, node, query, async () => {}, fileCap);
      }
    }
    const creates = t === "mkdir" || t === "mkdir-with-children" || t === "mkdir-immutable";
    const dir = await walk(root, names, signal, creates || t === "upload");
    const back = query.when_done !== undefined ? dirUrl(dir.cap) : dirUrl(dir.cap);
    if (t === "upload") {
      if (!request.isMultipart())
        throw badRequest(
          "t=upload needs a multipart/form-data body with a 'file' field",
          "Send the directory page's form.",
        );
      const fields: Query = { ...query };
      const linked: string[] = [];
      const { cap: fileCap } = await uploadFromForm(request, {
        fields,
        limits,
        maxFiles: MAX_FILES_PER_UPLOAD,
        upload: async (body, filename) => {
          const given = fields.name?.trim() ?? "";
          if (given === "" && (filename?.trim() ?? "") === "")
            throw badRequest(
              "upload requires a name (the form's file field is empty: no file was chosen)",
              "Choose a file to upload.",
            );
          if (given !== "" && linked.length > 0) {
            throw badRequest(
              `name=${given} names one file, but the form has several (${linked.join(", ")} was stored first)`,
              "Leave the name empty to upload several files under their own names.",
            );
          }
          const name = checkName(given || (filename?.trim() ?? ""), "name=", "upload requires a name");
          const replace = replaceOf(fields);
          checkReplace(await dir.get(name), replace, name);
          const format = uploadFormatOf(fields);
          const made =
            format === "CHK"
              ? await node.upload(body, { signal, name })
              : await node.createMutable(body, { signal, format, name });
          await dir.set(name, childOf(made.cap), { replace });
          linked.push(name);
          return made;
        },
      });
      if (fileCap === undefined) throw badRequest("the form has no 'file' field", "Choose a file.");
      return actionReply(request, reply, fields, `Uploaded ${linked.join(", ")}`, fileCap, back, {
        done: "uploaded",
        name: linked.join("/"),
      });
    }
    if (request.isMultipart()) {
      // The directory page's small forms (mkdir, rename, unlink) send their fields as multipart too.
      for await (const part of request.parts())
        if (part.type === "field") query[part.fieldname] ??= String(part.value);
    } else if (request.headers["content-type"]?.startsWith("application/x-www-form-urlencoded")) {
      const form = new URLSearchParams(await readJsonBodyText(request));
      for (const [k, v] of form) query[k] ??= v;
    }
    // Tahoe: a missing or empty name= is no name (t=mkdir then answers this directory's cap).
    const name =
      query.name === undefined || query.name === ""
        ? undefined
        : checkName(query.name, "name=", "name= may not be empty");
    switch (t) {
      case "mkdir": {
        if (name === undefined) return textReply(reply, 200, dir.cap);
        const replace = replaceOf(query);
        checkReplace(await dir.get(name), replace, name);
        const made = await directoriesOf(node).create({ format: formatOf(query), signal });
        await dir.set(name, { writeCap: made.writeCap, readCap: made.readCap }, { replace });
        return actionReply(request, reply, query, `Created directory ${name}`, made.writeCap, back, {
          done: "created",
          name,
        });
      }
      case "mkdir-with-children":
      case "mkdir-immutable": {
        const children = childrenOf(await readJsonBody(request));
        if (name === undefined) return textReply(reply, 200, dir.cap);
        // Tahoe passes overwrite=False here whatever replace= says.
        checkReplace(await dir.get(name), false, name);
        const made =
          t === "mkdir-immutable"
            ? {
                writeCap: undefined,
                readCap: (await directoriesOf(node).createImmutable({ children, signal })).cap,
              }
            : await directoriesOf(node).create({ format: formatOf(query), children, signal });
        await dir.set(name, { writeCap: made.writeCap, readCap: made.readCap }, { replace: false });
        return textReply(reply, 200, made.writeCap ?? made.readCap);
      }
      case "uri": {
        if (query.uri === undefined || query.uri.trim() === "")
          throw badRequest("set-uri requires a uri", "POST ?t=uri&name=NAME&uri=CAP");
        if (name === undefined) throw badRequest("set-uri requires a name", "POST ?t=uri&name=NAME&uri=CAP");
        const replace = replaceOf(query);
        checkReplace(await dir.get(name), replace, name);
        await dir.set(name, childOf(query.uri), { replace });
        return actionReply(request, reply, query, `Linked ${name}`, query.uri, back, {
          done: "linked",
          name,
        });
      }
      case "unlink":
      case "delete": {
        if (name === undefined) throw badRequest(`t=${t} needs name=`, `POST ?t=${t}&name=NAME`);
        if ((await dir.get(name)) === undefined) throw notFound(`No such child: ${name}`);
        const removed = await dir.delete(name);
        const removedCap = removed.writeCap ?? removed.readCap ?? "thing unlinked";
        return actionReply(request, reply, query, `Deleted ${name}`, removedCap, back, {
          done: "deleted",
          name,
          cap: removedCap,
        });
      }
      case "rename":
      case "relink": {
        if (t === "rename" && query.to_dir !== undefined)
          throw badRequest(
            "to_dir= is not valid for rename",
            "Use t=relink to move a child to another directory.",
          );
        if (t === "rename" && query.to_name === undefined)
          throw badRequest("to_name= is required for rename", "POST ?t=rename&from_name=OLD&to_name=NEW");
        if (query.from_name === undefined)
          throw badRequest("from_name= is required", `POST ?t=${t}&from_name=OLD&to_name=NEW`);
        const from = checkName(query.from_name.trim(), "from_name=", "from_name= may not be empty");
        const to =
          query.to_name === undefined
            ? from
            : checkName(query.to_name.trim(), "to_name=", "to_name= may not be empty");
        const replace = replaceOf(query);
        let target: WebDirectory | undefined;
        if (query.to_dir !== undefined && query.to_dir !== "") {
          const [toCap, ...toPath] = query.to_dir.split("/");
          target = await walk(
            await open(toCap as string, signal),
            toPath.filter((p) => p !== ""),
            signal,
            false,
          );
        }
        if ((await dir.get(from)) === undefined) throw notFound(`No such child: ${from}`);
        checkReplace(await (target ?? dir).get(to), replace, to);
        await dir.rename(from, to, { replace, ...(target !== undefined ? { toDirectory: target } : {}) });
        return actionReply(request, reply, query, `Moved ${from} to ${to}`, "thing moved", back, {
          done: "renamed",
          name: to,
          from,
        });
      }
      case "stream-manifest":
        return replyToStreamManifest(reply, dir, (child) => open(child, signal), signal);
      case "start-deep-check":
      case "start-manifest":
      case "start-deep-size":
      case "start-deep-stats":
        return replyToStartOperation(request, reply, { t, node, dir, query, open });
      case "check":
        return replyToCheck(
          request as FastifyRequest<{ Params: { cap: string } }>,
          reply,
          node,
          query,
          async () => {},
          backingFileCap(dir.cap),
        );
      case "stream-deep-check":
        return replyToDeepCheck(reply, dir, {
          node,
          repair: checkFlag(query, "repair"),
          options: { verify: checkFlag(query, "verify"), addLease: checkFlag(query, "add-lease"), signal },
          open: (child) => open(child, signal),
        });
      case "set_children":
      case "set-children": {
        // One edit for all of them, as Tahoe's node.set_children(children, overwrite=replace).
        const replace = replaceOf(query);
        await dir.setMany(childrenOf(await readJsonBody(request)), { replace });
        return textReply(reply, 200, "OK");
      }
      default:
        throw badRequest(
          `POST to a directory: bad t=${t}`,
          "t= is mkdir, mkdir-with-children, mkdir-immutable, upload, uri, unlink, rename, relink, set_children, stream-manifest, check, stream-deep-check, start-deep-check, start-manifest, start-deep-size or start-deep-stats.",
        );
    }
  }

  /** `POST /uri?t=mkdir[&format=]`, `t=mkdir-with-children`, `t=mkdir-immutable` (and PUT /uri?t=mkdir): a new unlinked directory. */
  async function mkdirUnlinked(request: FastifyRequest, reply: FastifyReply, t: string) {
    await assertMayUpload(request, uploadAuthority);
    const query = queryOf(request);
    const signal = abortOnClose(reply);
    let cap: string;
    if (t === "mkdir-immutable") {
      cap = (
        await directoriesOf(node).createImmutable({
          children: childrenOf(await readJsonBody(request)),
          signal,
        })
      ).cap;
    } else {
      const children = t === "mkdir-with-children" ? childrenOf(await readJsonBody(request)) : undefined;
      cap = (
        await directoriesOf(node).create({
          format: formatOf(query),
          signal,
          ...(children ? { children } : {}),
        })
      ).writeCap;
    }
    if (isTrue(query.redirect_to_result)) return reply.code(303).header("Location", dirUrl(cap)).send();
    return textReply(reply, 200, cap);
  }

  return { get, put, post, delete: del, mkdirUnlinked };
}

/** Registers /uri/:cap/* for the four methods; /uri/:cap itself hands directory caps over in uri-routes. */
export function registerDirectoryRoutes(
  app: FastifyInstance,
  handlers: ReturnType<typeof createDirectoryHandlers>,
): void {
  app.get("/uri/:cap/*", handlers.get);
  app.put("/uri/:cap/*", handlers.put);
  app.post("/uri/:cap/*", handlers.post);
  app.delete("/uri/:cap/*", handlers.delete);
  app.delete("/uri/:cap", handlers.delete);
}
