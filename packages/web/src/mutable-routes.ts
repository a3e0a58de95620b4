import { formatMutableCap, type MutableCap } from "@lafs/mutable";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { parseFileCap } from "./caps.js";
import { replyToCheck } from "./check-routes.js";
import { isDirectoryCapText } from "./directory-json.js";
import { abortOnClose } from "./disconnect.js";
import { WebError } from "./errors.js";
import { badRequest, putBody, queryOf } from "./request-args.js";
import { assertMayUpload, type UploadAuthority } from "./upload-authority.js";
import { uploadFromForm } from "./upload-form.js";
import type { BodyLimits } from "./upload-source.js";
import type { WebNode } from "./web-node.js";

type DirectoryHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

function notWritable(message: string, hint: string): WebError {
  return new WebError("TAHOE_ERR_WEB_NOT_WRITABLE", 400, message, { hint });
}

/**
 * The write cap a write to `/uri/CAP` needs. Tahoe-LAFS refuses a read-only mutable cap with 400
 * "PUT to a mutable file: replace or update requested with read-only cap"; an immutable file
 * has nothing to change (Tahoe fails an assertion there; a 400 that says so is kinder).
 */
function writeCapOf(capText: string, what: string, offset: number | undefined): string {
  const parsed = parseFileCap(capText);
  if (parsed.family === "immutable") {
    if (offset !== undefined) {
      throw notWritable(
        `${what}: append operation invoked on an immutable cap (${capText.slice(0, 12)}...)`,
        "offset= updates a mutable file in place; an immutable file (URI:CHK:, URI:LIT:) never changes.",
      );
    }
    throw notWritable(
      `${what}: ${capText.slice(0, 12)}... is an immutable file, which cannot be changed`,
      "Upload the new contents with PUT /uri (a new cap), or use a mutable file's write cap (URI:SSK:, URI:MDMF:).",
    );
  }
  const cap: MutableCap = parsed.cap;
  if (cap.kind !== "write") {
    throw notWritable(
      `${what}: replace or update requested with ${cap.kind === "read" ? "read-only" : "verify"} cap ${formatMutableCap(cap).slice(0, 16)}...`,
      `Writing needs the file's write cap (${cap.format === "SDMF" ? "URI:SSK:" : "URI:MDMF:"}...); a ${cap.kind} cap can only ${cap.kind === "read" ? "read the file" : "check it"}.`,
    );
  }
  return formatMutableCap(cap);
}

/** `offset=N`: a whole number of bytes, at most the file's size (the node checks that part). */
function offsetOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^-\d+$/.test(text)) {
    throw badRequest(
      `PUT to a mutable file: Invalid offset ${text}`,
      "offset= is where the body is written: 0 up to the file's size.",
    );
  }
  const offset = /^\+?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(offset)) {
    throw badRequest(
      `PUT to a mutable file: offset=${JSON.stringify(value.slice(0, 40))} is not a whole number of bytes`,
      "offset= is where the body is written: 0 up to the file's size.",
    );
  }
  return offset;
}

/**
 * `PUT /uri/WRITECAP` (overwrite; `?offset=N` writes in place) and
 * `POST /uri/WRITECAP?t=upload` (overwrite from a form), as Tahoe-LAFS's FileNodeHandler.
 * Each answers 200 with the file's cap.
 */
export function registerMutableWriteRoutes(
  app: FastifyInstance,
  node: WebNode,
  limits: BodyLimits,
  uploadAuthority?: UploadAuthority,
  directories?: { put: DirectoryHandler; post: DirectoryHandler },
): void {
  app.put<{ Params: { cap: string } }>("/uri/:cap", async (request, reply) => {
    if (directories && isDirectoryCapText(request.params.cap)) return directories.put(request, reply);
    await assertMayUpload(request, uploadAuthority);
    const query = queryOf(request);
    const t = (query.t ?? "").trim();
    if (t !== "") {
      throw badRequest(
        `PUT to a file: bad t=${t}`,
        t === "uri"
          ? "t=uri links a cap into a directory: PUT it to /uri/DIRCAP/NAME."
          : "PUT /uri/WRITECAP with the new contents as the body, and no t=.",
      );
    }
    if (request.headers["content-range"] !== undefined) {
      throw new WebError("TAHOE_ERR_WEB_NOT_SUPPORTED", 501, "Content-Range in PUT not yet supported", {
        hint: "Write part of an MDMF file with PUT /uri/WRITECAP?offset=N and the new bytes as the body.",
      });
    }
    const offset = offsetOf(query.offset);
    const writeCap = writeCapOf(request.params.cap, "PUT to a mutable file", offset);
    const { body, options } = putBody(request, reply, limits);
    const { cap } =
      offset === undefined
        ? await node.overwriteMutable(writeCap, body, options)
        : await node.updateMutable(writeCap, offset, body, options);
    return reply.code(200).type("text/plain; charset=utf-8").send(cap);
  });

  app.post<{ Params: { cap: string } }>("/uri/:cap", async (request, reply) => {
    if (directories && isDirectoryCapText(request.params.cap)) return directories.post(request, reply);
    const query = queryOf(request);
    const t = (query.t ?? "").trim();
    if (t === "check") {
      return replyToCheck(request, reply, node, query, () => assertMayUpload(request, uploadAuthority));
    }
    await assertMayUpload(request, uploadAuthority);
    if (t !== "upload") {
      throw badRequest(
        `POST to file: bad t=${t}`,
        "POST /uri/WRITECAP?t=upload with a multipart form whose 'file' field is the new contents.",
      );
    }
    const writeCap = writeCapOf(request.params.cap, "POST to a mutable file", undefined);
    if (!request.isMultipart()) {
      throw badRequest(
        "POST /uri/WRITECAP?t=upload needs a multipart/form-data body with a 'file' field",
        "Send a form, or use PUT /uri/WRITECAP with the new contents as the body.",
      );
    }
    const signal = abortOnClose(reply);
    const { cap } = await uploadFromForm(request, {
      fields: { ...query },
      limits,
      upload: (body) => node.overwriteMutable(writeCap, body, { signal }),
    });
    if (cap === undefined)
      throw badRequest("the form has no 'file' field", "Put the new contents in the form's 'file' field.");
    return reply.code(200).type("text/plain; charset=utf-8").send(cap);
  });
}
