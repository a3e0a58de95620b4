import type { Multipart } from "@fastify/multipart";
import type { FastifyRequest } from "fastify";
import { bodyError } from "./disconnect.js";
import { WebError } from "./errors.js";
import { type BodyLimits, limitedBody } from "./upload-source.js";

export type FormFields = Record<string, string | undefined>;

/** @fastify/multipart's limits for an upload form; error-page.ts words each limit's error. */
export const UPLOAD_FORM_LIMITS = {
  fileSize: Number.MAX_SAFE_INTEGER,
  // One 'file' is read; a few other file parts (a browser's empty extra inputs) are skipped.
  files: 4,
  fields: 50,
  fieldSize: 64 * 1024,
  parts: 100,
} as const;

/** Python's cgi module (which Tahoe-LAFS's forms went through) takes boundaries of up to 201 characters. */
const MAX_BOUNDARY = 200;

const FORM_HINT = "Send one multipart/form-data form with a 'file' field (the welcome page's upload form).";

export function badForm(message: string, hint = FORM_HINT): WebError {
  return new WebError("TAHOE_ERR_WEB_BAD_FORM", 400, message, { hint });
}

/** busboy's errors are plain Errors: what each means, in words that name the form. */
function formParseError(error: unknown): unknown {
  if ((error as { statusCode?: unknown } | null)?.statusCode !== undefined) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/boundary not found/i.test(message)) {
    return badForm("the Content-Type multipart/form-data has no boundary= parameter");
  }
  if (/needle cannot have a length/i.test(message)) {
    return badForm(`the multipart boundary is longer than ${MAX_BOUNDARY} characters`);
  }
  if (/malformed part header/i.test(message)) return badForm("a part of the form has a malformed header");
  if (/unexpected end of form|terminated early|premature close/i.test(message)) {
    return badForm("the form ends before its closing boundary (the body was cut short)");
  }
  return badForm(`the multipart/form-data body is malformed (${message})`);
}

/** Refuses a boundary busboy would choke on, before it is handed one. */
function checkBoundary(contentType: string | undefined): void {
  const boundary = /;\s*boundary=(?:"([^"]*)"|([^;\s]*))/i.exec(contentType ?? "");
  const value = boundary?.[1] ?? boundary?.[2];
  if (value === undefined || value === "") {
    throw badForm("the Content-Type multipart/form-data has no boundary= parameter");
  }
  if (value.length > MAX_BOUNDARY) {
    throw badForm(
      `the multipart boundary is ${value.length} characters long; at most ${MAX_BOUNDARY} are accepted`,
    );
  }
}

export interface FormUploadOptions {
  /** The query's fields; the form's own fields are added as they arrive. */
  fields: FormFields;
  limits: BodyLimits;
  /** Checks the fields seen so far once the 'file' part starts; throws to refuse. */
  beforeFile?: (fields: FormFields) => void;
  /** `filename` is the file part's own name, which a directory upload links it under by default. */
  upload: (body: AsyncIterable<Uint8Array>, filename?: string) => Promise<{ cap: string }>;
  /** How many 'file' parts the form may hold, each stored as it arrives (a directory's upload); default 1. */
  maxFiles?: number;
}

/**
 * Reads a multipart upload form part by part, streaming its one 'file' field to `upload`. Every
 * way a form can be wrong (no or over-long boundary, a malformed part, a body cut short, too many
 * parts, two 'file' fields) is a 400 TAHOE_ERR_WEB_BAD_FORM; a client that goes away is
 * TAHOE_ERR_WEB_DISCONNECTED.
 */
export async function uploadFromForm(
  request: FastifyRequest,
  options: FormUploadOptions,
): Promise<{ cap: string | undefined; fields: FormFields; filename?: string }> {
  checkBoundary(request.headers["content-type"]);
  const fields = options.fields;
  let cap: string | undefined;
  let filename: string | undefined;
  let files = 0;
  const maxFiles = options.maxFiles ?? 1;
  // A browser's empty extra file inputs are skipped, so a few more file parts than files are read.
  const limits = { ...UPLOAD_FORM_LIMITS, files: Math.max(UPLOAD_FORM_LIMITS.files, maxFiles + 3) };
  try {
    for await (const part of request.parts({ limits }) as AsyncIterable<Multipart>) {
      if (part.type === "field") {
        if (part.valueTruncated) {
          throw badForm(
            `the form field '${part.fieldname}' is longer than ${UPLOAD_FORM_LIMITS.fieldSize} bytes`,
          );
        }
        fields[part.fieldname] = String(part.value);
        continue;
      }
      if (part.fieldname !== "file") {
        part.file.resume();
        continue;
      }
      // The files before are stored by now (their bytes streamed on as they came).
      if (files === maxFiles) {
        throw badForm(
          maxFiles === 1
            ? "the form has more than one 'file' field"
            : `the form has more than ${maxFiles} files; the first ${maxFiles} were stored`,
          maxFiles === 1 ? FORM_HINT : `Send at most ${maxFiles} files per form.`,
        );
      }
      files += 1;
      options.beforeFile?.(fields);
      // The browser's name for the file, so the result page can offer it back under that name.
      filename = part.filename ? part.filename : undefined;
      ({ cap } = await options.upload(
        limitedBody(part.file, options.limits, request.raw, formParseError),
        filename,
      ));
    }
  } catch (error) {
    throw bodyError(error, request.raw, formParseError);
  }
  return filename === undefined ? { cap, fields } : { cap, fields, filename };
}
