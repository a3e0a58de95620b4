import { Socket } from "node:net";
import { Readable } from "node:stream";
import { freeNow } from "@lafs/immutable";
import { isTahoeError, type Logger } from "@lafs/interface";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { fileNodeJson, parseFileCap } from "./caps.js";
import { attachmentDisposition, contentTypeFor } from "./content-type.js";
import { abortOnClose } from "./disconnect.js";
import { WebError } from "./errors.js";
import { fileInfoPage } from "./file-info-page.js";
import { parseRangeHeader } from "./range.js";
import { assertMayUpload, type UploadAuthority } from "./upload-authority.js";
import { uploadFromForm } from "./upload-form.js";
import { type BodyLimits, limitedBody, tooLarge } from "./upload-source.js";
import type { WebNode, WebUploadOptions } from "./web-node.js";

type Query = Record<string, string | undefined>;

/** The query's fields; a name given twice counts once, by its first value, as Tahoe-LAFS's get_arg does. */
function queryOf(request: FastifyRequest): Query {
  const out: Query = {};
  for (const [name, value] of Object.entries((request.query ?? {}) as Record<string, unknown>)) {
    out[name] = Array.isArray(value) ? String(value[0]) : value === undefined ? undefined : String(value);
  }
  return out;
}

function badRequest(message: string, hint: string): WebError {
  return new WebError("TAHOE_ERR_WEB_BAD_REQUEST", 400, message, { hint });
}

const isTrue = (value: string | undefined): boolean =>
  value !== undefined && /^(true|on|1|yes)$/i.test(value);

/** Tahoe-LAFS's words for a t= that /uri does not take. */
const URI_T_VALUES = "/uri accepts only PUT, PUT?t=mkdir, POST?t=upload, and POST?t=mkdir";
const MKDIR_T_VALUES = new Set(["mkdir", "mkdir-with-children", "mkdir-immutable"]);

/**
 * Tahoe-LAFS's directory calls are valid requests this node cannot serve yet: 501 (the server
 * lacks the function), not 400 (the client did nothing wrong), and never a file upload.
 */
function directoriesNotSupported(method: string, t: string): WebError {
  return new WebError(
    "TAHOE_ERR_WEB_NOT_SUPPORTED",
    501,
    `${method} /uri?t=${t} creates a directory; directories are not supported by this node yet`,
    { hint: "Upload files with PUT /uri or POST /uri?t=upload and keep their caps; directories come later." },
  );
}

/** Refuses a t= that /uri does not implement: 501 for the directory calls, 400 for the rest. */
function checkUriT(method: "PUT" | "POST", t: string | undefined): void {
  const value = (t ?? "").trim();
  if (value === "" || (method === "POST" && value === "upload")) return;
  if (MKDIR_T_VALUES.has(value) && (method === "POST" || value === "mkdir")) {
    throw directoriesNotSupported(method, value);
  }
  throw badRequest(
    `unknown t=${value} for ${method} /uri: ${URI_T_VALUES}`,
    "Leave t= out of PUT /uri to upload a file.",
  );
}

function refuseMutable(query: Query): void {
  const format = query.format?.toUpperCase();
  if (isTrue(query.mutable) || format === "SDMF" || format === "MDMF") {
    throw badRequest(
      `this node uploads immutable files only (format=${query.format ?? ""}, mutable=${query.mutable ?? ""})`,
      "Leave out mutable= and format=, or use format=CHK.",
    );
  }
  if (format !== undefined && format !== "CHK") {
    throw badRequest(`unknown upload format '${query.format}'`, "Use format=CHK or leave it out.");
  }
}

/**
 * A form upload's answer. Tahoe-LAFS's when_done= (a local path, %(uri)s replaced by the cap) and
 * redirect_to_result=true answer 303, so a reload of the page after it fetches a page and never
 * uploads again; redirect_to_result leads to the file's info page with the cap and a download
 * link under the file's own name (never to the file itself, which a browser would save as URI_CHK_…).
 */
function sendCap(
  request: FastifyRequest,
  reply: FastifyReply,
  node: WebNode,
  cap: string,
  fields: Query,
  filename: string | undefined,
): FastifyReply {
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
    const body = fileInfoPage(node.status(), cap, parseFileCap(cap), { filename, uploaded: true });
    return reply.code(200).type("text/html; charset=utf-8").send(body);
  }
  return reply.code(200).type("text/plain; charset=utf-8").send(cap);
}

/** `PUT /uri`, `POST /uri?t=upload`, `GET /uri?uri=`, `GET /uri/CAP`, `GET /named/CAP/NAME`. */
export function registerUriRoutes(
  app: FastifyInstance,
  node: WebNode,
  limits: BodyLimits,
  logger: Logger,
  uploadAuthority?: UploadAuthority,
): void {
  app.put("/uri", async (request, reply) => {
    await assertMayUpload(request, uploadAuthority);
    const query = queryOf(request);
    checkUriT("PUT", query.t);
    refuseMutable(query);
    const header = request.headers["content-length"];
    const size = header === undefined || request.headers["transfer-encoding"] ? undefined : Number(header);
    if (size !== undefined && limits.maxBytes !== undefined && size > limits.maxBytes)
      throw tooLarge(limits.maxBytes);
    const signal = abortOnClose(reply);
    // A real socket's body went through Node's HTTP parser, which copies every chunk.
    const options: WebUploadOptions = { signal, freshChunks: request.raw.socket instanceof Socket };
    if (size !== undefined && Number.isSafeInteger(size)) options.size = size;
    const { cap } = await node.upload(limitedBody(request.raw, limits, request.raw), options);
    return reply.code(200).type("text/plain; charset=utf-8").send(cap);
  });

  app.post("/uri", async (request, reply) => {
    await assertMayUpload(request, uploadAuthority);
    const query = queryOf(request);
    // A t= in the query is refused before the body is read; one in the form, when it is seen.
    if (query.t !== undefined) checkUriT("POST", query.t === "" ? "upload" : query.t);
    if (!request.isMultipart()) {
      throw badRequest(
        "POST /uri needs a multipart/form-data body with a 'file' field",
        "Send the form of the welcome page, or use PUT /uri with the file as the body.",
      );
    }
    const signal = abortOnClose(reply);
    const { cap, fields, filename } = await uploadFromForm(request, {
      fields: { ...query },
      limits,
      beforeFile: (seen) => {
        checkUriT("POST", seen.t ?? "");
        if (seen.t?.trim() !== "upload") {
          throw badRequest(
            `POST /uri needs t=upload, got t=${seen.t ?? "(none)"}`,
            "Add t=upload to the query or the form.",
          );
        }
        refuseMutable(seen);
      },
      upload: (body, name) => node.upload(body, name === undefined ? { signal } : { signal, name }),
    });
    if (cap === undefined) {
      checkUriT("POST", fields.t ?? "");
      throw badRequest("the form has no 'file' field", "Choose a file in the form's 'file' field.");
    }
    return sendCap(request, reply, node, cap, fields, filename);
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
    const query = queryOf(request);
    const cap = parseFileCap(capText);
    if (query.t === "json")
      return reply.type("application/json; charset=utf-8").send(fileNodeJson(capText, cap));
    if (query.t === "info") {
      const info = { filename: name ?? query.filename, uploaded: isTrue(query.uploaded) };
      return reply.type("text/html; charset=utf-8").send(fileInfoPage(node.status(), capText, cap, info));
    }
    if (query.t !== undefined && query.t !== "") {
      throw badRequest(
        `unknown t=${query.t} for a file: a file's URL takes t=json, t=info, or no t to download it`,
        "Use t=json, t=info, or no t to download the file.",
      );
    }
    if (cap.kind === "chk-verifier") {
      throw new WebError(
        "TAHOE_ERR_WEB_BAD_CAP",
        400,
        "a URI:CHK-Verifier: cap can check a file but not read it",
        {
          hint: "Use the file's URI:CHK: read cap to download it; ?t=json works with a verify cap.",
        },
      );
    }
    const signal = abortOnClose(reply);
    const file = await node.openDownload(capText, { signal });
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

  app.get<{ Params: { cap: string } }>("/uri/:cap", (request, reply) =>
    download(request, reply, request.params.cap),
  );
  app.get<{ Params: { cap: string; name: string } }>("/named/:cap/:name", (request, reply) =>
    download(request, reply, request.params.cap, request.params.name),
  );
}
