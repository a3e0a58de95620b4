import { Readable } from "node:stream";
import { freeNow } from "@lafs/immutable";
import { isTahoeError, type Logger } from "@lafs/interface";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { fileNodeJson, mutableFileNodeJson, parseFileCap } from "./caps.js";
import { attachmentDisposition, contentTypeFor } from "./content-type.js";
import { isDirectoryCapText } from "./directory-json.js";
import { createDirectoryHandlers, registerDirectoryRoutes } from "./directory-routes.js";
import { abortOnClose } from "./disconnect.js";
import { WebError } from "./errors.js";
import { fileInfoPage } from "./file-info-page.js";
import { registerMutableWriteRoutes } from "./mutable-routes.js";
import { parseRangeHeader } from "./range.js";
import {
  badRequest,
  isTrue,
  privateKeyOf,
  putBody,
  type Query,
  queryOf,
  type UploadFormat,
  uploadFormatOf,
} from "./request-args.js";
import { assertMayUpload, type UploadAuthority } from "./upload-authority.js";
import { uploadFromForm } from "./upload-form.js";
import type { BodyLimits } from "./upload-source.js";
import type { WebDownload, WebNode, WebUploadOptions } from "./web-node.js";

/** Tahoe-LAFS's words for a t= that /uri does not take. */
const URI_T_VALUES = "/uri accepts only PUT, PUT?t=mkdir, POST?t=upload, and POST?t=mkdir";
const MKDIR_T_VALUES = new Set(["mkdir", "mkdir-with-children", "mkdir-immutable"]);

/** Refuses a t= that /uri does not implement; the mkdir calls go to the directory handlers. */
function checkUriT(method: "PUT" | "POST", t: string | undefined): void {
  const value = (t ?? "").trim();
  if (value === "" || (method === "POST" && value === "upload")) return;
  if (MKDIR_T_VALUES.has(value) && (method === "POST" || value === "mkdir")) return;
  throw badRequest(
    `unknown t=${value} for ${method} /uri: ${URI_T_VALUES}`,
    "Leave t= out of PUT /uri to upload a file.",
  );
}

/** Stores a new file in the format the request asked for: CHK through the uploader, SDMF/MDMF as a new mutable file. */
function store(
  node: WebNode,
  format: UploadFormat,
  body: AsyncIterable<Uint8Array>,
  options: WebUploadOptions & { privateKey?: Uint8Array },
): Promise<{ cap: string }> {
  return format === "CHK" ? node.upload(body, options) : node.createMutable(body, { ...options, format });
}

/**
 * A form upload's answer. Tahoe-LAFS's when_done= (a local path, %(uri)s replaced by the cap) and
 * redirect_to_result=true answer 303, so a reload of the page after it fetches a page and never
 * uploads again; redirect_to_result leads to the file's info page with the cap and a download
 * link under the file's own name (never to the file itself, which a browser would save as URI_CHK_…).
 */
async function sendCap(
  request: FastifyRequest,
  reply: FastifyReply,
  node: WebNode,
  cap: string,
  fields: Query,
  filename: string | undefined,
  signal: AbortSignal,
): Promise<FastifyReply> {
  const whenDone = fields.when_done;
  if (whenDone !== undefined && /^\/(?![/\\])/.test(whenDone))
    return reply
      .code(303)
      .header("Location", whenDone.replaceAll("%(uri)s", encodeURIComponent(cap)))
      .send();
  if (isTrue(fields.redirect_to_result)) {
    const name = filename === undefined ? "" : `&filename=${encodeURIComponent(filename)}`;
    return reply
      .code(303)
      .header("Location", `/uri/${encodeURIComponent(cap)}?t=info&uploaded=true${name}`)
      .send();
  }
  if (request.headers.accept?.includes("text/html")) {
    const [, info] = await describeFile(node, cap, signal);
    const body = fileInfoPage(node.status(), cap, info, { filename, uploaded: true });
    return reply.code(200).type("text/html; charset=utf-8").send(body);
  }
  return reply.code(200).type("text/plain; charset=utf-8").send(cap);
}

/**
 * A file's `?t=json` data: from the cap alone for an immutable file or a verify cap, from the
 * newest recoverable version (its size and caps) for a mutable file's read or write cap.
 */
async function describeFile(
  node: WebNode,
  capText: string,
  signal: AbortSignal,
): Promise<[string, Record<string, unknown>]> {
  const parsed = parseFileCap(capText);
  if (parsed.family === "immutable") return fileNodeJson(capText, parsed.cap);
  if (parsed.cap.kind === "verify") return mutableFileNodeJson(parsed.cap, undefined);
  return mutableFileNodeJson(parsed.cap, await node.openMutable(capText, { signal }));
}

/**
 * `PUT /uri`, `POST /uri?t=upload` (CHK, SDMF or MDMF), `GET /uri?uri=`, `GET /uri/CAP`,
 * `GET /named/CAP/NAME`, and the writes to a mutable file (mutable-routes.ts).
 */
export function registerUriRoutes(
  app: FastifyInstance,
  node: WebNode,
  limits: BodyLimits,
  logger: Logger,
  uploadAuthority?: UploadAuthority,
): void {
  const directories = createDirectoryHandlers(
    node,
    limits,
    (request, reply, cap, name) => download(request, reply, cap, name),
    uploadAuthority,
  );
  app.put("/uri", async (request, reply) => {
    await assertMayUpload(request, uploadAuthority);
    const query = queryOf(request);
    checkUriT("PUT", query.t);
    if (query.t?.trim() === "mkdir") return directories.mkdirUnlinked(request, reply, "mkdir");
    const format = uploadFormatOf(query);
    // Tahoe's PUTUnlinkedSSK takes the caller's key; its CHK upload ignores the argument.
    const privateKey = format === "CHK" ? undefined : privateKeyOf(query);
    const { body, options } = putBody(request, reply, limits);
    const { cap } = await store(
      node,
      format,
      body,
      privateKey === undefined ? options : { ...options, privateKey },
    );
    return reply.code(200).type("text/plain; charset=utf-8").send(cap);
  });

  app.post("/uri", async (request, reply) => {
    await assertMayUpload(request, uploadAuthority);
    const query = queryOf(request);
    // A t= in the query is refused before the body is read; one in the form, when it is seen.
    if (query.t !== undefined) checkUriT("POST", query.t === "" ? "upload" : query.t);
    const t = query.t?.trim() ?? "";
    if (MKDIR_T_VALUES.has(t)) return directories.mkdirUnlinked(request, reply, t);
    if (!request.isMultipart()) {
      throw badRequest(
        "POST /uri needs a multipart/form-data body with a 'file' field",
        "Send the form of the welcome page, or use PUT /uri with the file as the body.",
      );
    }
    const signal = abortOnClose(reply);
    // The form's fields join the query's as they arrive; the format is read when the file starts.
    const seen: Query = { ...query };
    let format: UploadFormat = "CHK";
    const { cap, fields, filename } = await uploadFromForm(request, {
      fields: seen,
      limits,
      beforeFile: (seen) => {
        checkUriT("POST", seen.t ?? "");
        if (seen.t?.trim() !== "upload") {
          throw badRequest(
            `POST /uri needs t=upload, got t=${seen.t ?? "(none)"}`,
            "Add t=upload to the query or the form.",
          );
        }
        format = uploadFormatOf(seen);
      },
      upload: (body, name) => store(node, format, body, name === undefined ? { signal } : { signal, name }),
    });
    if (cap === undefined) {
      // The welcome page's mkdir form sends t=mkdir as a field.
      if (fields.t?.trim() === "mkdir") return directories.mkdirUnlinked(request, reply, "mkdir");
      checkUriT("POST", fields.t ?? "");
      throw badRequest("the form has no 'file' field", "Choose a file in the form's 'file' field.");
    }
    return sendCap(request, reply, node, cap, fields, filename, signal);
  });

  app.get("/uri", async (request, reply) => {
    const { uri, ...rest } = queryOf(request);
    if (!uri) {
      throw badRequest("GET /uri needs ?uri=CAP", "Paste a cap into the welcome page's download form.");
    }
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(rest)) if (value !== undefined) params.set(key, value);
    const search = params.size ? `?${params}` : "";
    return reply
      .code(303)
      .header("Location", `/uri/${encodeURIComponent(uri)}${search}`)
      .send();
  });

  const download = async (request: FastifyRequest, reply: FastifyReply, capText: string, name?: string) => {
    if (name === undefined && isDirectoryCapText(capText)) return directories.get(request, reply);
    const query = queryOf(request);
    const parsed = parseFileCap(capText);
    if (query.t !== undefined && query.t !== "" && query.t !== "json" && query.t !== "info") {
      throw badRequest(
        `unknown t=${query.t} for a file: a file's URL takes t=json, t=info, or no t to download it`,
        "Use t=json, t=info, or no t to download the file.",
      );
    }
    // t=json answers the file's data; t=info shows it as the file's info page.
    const describing = query.t === "json" || query.t === "info";
    const describe = (data: [string, Record<string, unknown>]) => {
      if (query.t === "json") return reply.type("application/json; charset=utf-8").send(data);
      const options = { filename: name ?? query.filename, uploaded: isTrue(query.uploaded) };
      const body = fileInfoPage(node.status(), capText, data[1], options);
      return reply.type("text/html; charset=utf-8").send(body);
    };
    const cannotRead = (prefix: string, hint: string) =>
      new WebError("TAHOE_ERR_WEB_BAD_CAP", 400, `a ${prefix} cap can check a file but not read it`, {
        hint,
      });
    const signal = abortOnClose(reply);
    let file: WebDownload;
    if (parsed.family === "mutable") {
      const cap = parsed.cap;
      if (cap.kind === "verify") {
        if (describing) return describe(mutableFileNodeJson(cap, undefined));
        throw cannotRead(
          cap.format === "SDMF" ? "URI:SSK-Verifier:" : "URI:MDMF-Verifier:",
          "Use the file's write or read cap to download it; ?t=json works with a verify cap.",
        );
      }
      // The newest recoverable version: its size and caps answer t=json, its bytes the download.
      const mutable = await node.openMutable(capText, { signal });
      if (describing) return describe(mutableFileNodeJson(cap, mutable));
      file = mutable;
    } else {
      const cap = parsed.cap;
      if (describing) return describe(fileNodeJson(capText, cap));
      if (cap.kind === "chk-verifier") {
        throw cannotRead(
          "URI:CHK-Verifier:",
          "Use the file's URI:CHK: read cap to download it; ?t=json works with a verify cap.",
        );
      }
      const range = request.headers.range;
      file = await node.openDownload(capText, {
        signal,
        partial: range !== undefined && range !== "bytes=0-",
      });
    }
    const range = parseRangeHeader(request.headers.range, file.size);
    if (range.kind === "unsatisfiable") {
      reply.header("Content-Range", `bytes */${file.size}`);
      throw new WebError(
        "TAHOE_ERR_WEB_RANGE",
        416,
        `Range '${request.headers.range}' is outside the file's ${file.size} bytes`,
        { hint: "Ask for bytes=FIRST-LAST, FIRST- or -SUFFIX within the file." },
      );
    }
    const span = range.kind === "span" ? range.span : { start: 0, end: file.size };
    const iterator = file.read(span, signal)[Symbol.asyncIterator]();
    // The first chunk is awaited before the headers go out, so an early failure still gets an error page.
    const first = await iterator.next();
    const filename = name ?? query.filename;
    reply.type(contentTypeFor(filename)).header("Accept-Ranges", "bytes");
    reply.header("Content-Length", String(span.end - span.start));
    if (isTrue(query.save))
      reply.header("Content-Disposition", filename ? attachmentDisposition(filename) : "attachment");
    if (range.kind === "span") {
      reply.code(206).header("Content-Range", `bytes ${span.start}-${span.end - 1}/${file.size}`);
    }
    let body: Readable | undefined;
    /** Chunks handed to the response whose bytes may not have reached the socket yet. */
    const given: Uint8Array[] = [];
    /**
     * The download's chunks are its own new buffers (ChkDecoder.read): once neither the stream
     * nor the response holds a byte, every chunk given so far is in the kernel, and its memory
     * goes back now rather than at a garbage collection some tens of MB later.
     */
    const freeGiven = () => {
      if (
        file.freshChunks &&
        body !== undefined &&
        body.readableLength === 0 &&
        reply.raw.writableLength === 0
      ) {
        for (const chunk of given.splice(0)) freeNow(chunk);
      }
    };
    async function* rest(): AsyncGenerator<Uint8Array> {
      try {
        if (first.done) return;
        given.push(first.value);
        yield first.value;
        for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
          freeGiven();
          given.push(r.value);
          yield r.value;
        }
      } catch (error) {
        // The headers are out: the client sees the connection cut short, the operator sees why.
        const code = isTahoeError(error) ? error.code : "internal error";
        const detail = isTahoeError(error) ? error.message : (error as Error).stack;
        logger.warn({ code, detail }, "download failed while streaming");
        throw error;
      } finally {
        // A client that goes away ends this generator early: let the node's download clean up too.
        await iterator.return?.();
      }
    }
    body = Readable.from(rest(), { objectMode: false });
    return reply.send(body);
  };

  registerMutableWriteRoutes(app, node, limits, uploadAuthority, directories);
  registerDirectoryRoutes(app, directories);
  app.get<{ Params: { cap: string } }>("/uri/:cap", (request, reply) =>
    download(request, reply, request.params.cap),
  );
  app.get<{ Params: { cap: string; name: string } }>("/named/:cap/:name", (request, reply) =>
    download(request, reply, request.params.cap, request.params.name),
  );
}
