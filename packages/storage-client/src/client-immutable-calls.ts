import type { AllocateRequest, CallOptions } from "./client-api.js";
import { checkSecret, checkUint } from "./client-call-errors.js";
import { timedForBody } from "./client-call-limits.js";
import { type CallContext, cborBody } from "./client-exchange.js";
import { LEASE_SECRET_BYTES } from "./client-lease-calls.js";
import {
  type AllocateResult,
  encodeAllocate,
  parseAllocate,
  parseRequired,
  ShapeError,
  type StorageVersion,
  type WriteResult,
} from "./messages.js";
import { type StorageIndex, storageIndexSegment } from "./storage-index.js";

/**
 * Reserves space for new immutable shares and adds or renews leases on existing ones. `version`
 * is the client's own version call: a refusal of every share asks it whether the server is full.
 */
export async function allocate(
  ctx: CallContext,
  version: (call: CallOptions | undefined) => Promise<StorageVersion>,
  si: StorageIndex,
  request: AllocateRequest,
  call: CallOptions | undefined,
): Promise<AllocateResult> {
  const { errors } = ctx;
  const seg = storageIndexSegment(si, errors.argument("allocate"));
  const op = `allocate ${seg}`;
  checkUint(errors, op, "allocated size", request.allocatedSize);
  for (const n of request.shareNumbers) checkUint(errors, op, "share number", n);
  checkSecret(errors, op, "renew secret", request.renewSecret, LEASE_SECRET_BYTES);
  checkSecret(errors, op, "cancel secret", request.cancelSecret, LEASE_SECRET_BYTES);
  checkSecret(errors, op, "upload secret", request.uploadSecret);
  const { body, type } = cborBody(encodeAllocate(request.shareNumbers, request.allocatedSize));
  const result = await ctx.cborCall(
    op,
    {
      method: "POST",
      path: `/storage/v1/immutable/${seg}`,
      headers: [
        ...ctx.secretHeaders([
          ["lease-renew-secret", request.renewSecret],
          ["lease-cancel-secret", request.cancelSecret],
          ["upload-secret", request.uploadSecret],
        ]),
        ...type,
      ],
      body,
    },
    call,
    [200],
    (v) => parseAllocate(v, request.shareNumbers),
  );
  const wanted = new Set(request.shareNumbers).size;
  if (wanted > 0 && result.refused.length === wanted) {
    // Nothing allocated: either other uploads hold these shares, or the server lacks space.
    // Only the server's own space figures tell the two apart.
    const v = await version(call);
    const room = Math.min(v.availableSpace, v.maximumImmutableShareSize);
    if (room < request.allocatedSize) {
      ctx.logger.warn({ operation: op, room, wanted: request.allocatedSize }, `server ${ctx.label} is full`);
      throw errors.error(
        "TAHOE_ERR_STORAGE_CLIENT_SERVER_FULL",
        op,
        `server ${ctx.label} is full: no share allocated, ${request.allocatedSize} bytes per share wanted, the server has room for ${room}`,
        "the server is full (or reserves its remaining space); place the shares on other servers",
      );
    }
  }
  return result;
}

/** The write's pieces, checked to be bytes and at least one byte in all; returns their length. */
function writeLength(ctx: CallContext, op: string, pieces: readonly Uint8Array[]): number {
  let length = 0;
  for (const piece of pieces) {
    if (!(piece instanceof Uint8Array)) throw ctx.errors.argument(op)("the data is not bytes");
    length += piece.length;
  }
  if (length === 0) {
    throw ctx.errors.argument(op)("the data is empty; a write must carry at least 1 byte");
  }
  return length;
}

/** `data` may be several pieces, sent back to back as one body without joining them. */
export async function write(
  ctx: CallContext,
  si: StorageIndex,
  shnum: number,
  offset: number,
  data: Uint8Array | readonly Uint8Array[],
  uploadSecret: Uint8Array,
  call: CallOptions | undefined,
): Promise<WriteResult> {
  const { errors } = ctx;
  const seg = storageIndexSegment(si, errors.argument("write"));
  const op = `write immutable share ${seg}/${shnum} at ${offset}`;
  checkUint(errors, op, "share number", shnum);
  checkUint(errors, op, "offset", offset);
  checkSecret(errors, op, "upload secret", uploadSecret);
  const pieces = data instanceof Uint8Array ? [data] : data;
  const length = writeLength(ctx, op, pieces);
  // Several pieces go out as an iterable body with its length given, so undici writes them
  // one after the other instead of us copying them into one buffer first.
  const body = pieces.length === 1 ? pieces[0]! : pieces.filter((piece) => piece.length > 0);
  return ctx.cborCall(
    op,
    {
      method: "PATCH",
      path: `/storage/v1/immutable/${seg}/${shnum}`,
      // Tahoe-LAFS always sends the `/*` form; `bytes */N` crashes Tahoe servers.
      headers: [
        "content-range",
        `bytes ${offset}-${offset + length - 1}/*`,
        ...(pieces.length === 1 ? [] : ["content-length", String(length)]),
        ...ctx.secretHeaders([["upload-secret", uploadSecret]]),
      ],
      body,
    },
    timedForBody(call, ctx.defaultTimeout, length),
    [200, 201],
    (v, status) => {
      const required = parseRequired(v);
      if (status === 201 && required.length > 0) {
        throw new ShapeError("the share is reported complete (201) but ranges are still required");
      }
      return { complete: status === 201, required };
    },
    {
      unauthorized: "the upload secret differs from the one given to allocate",
      notFound:
        "no upload of this share is in progress: allocate it first (uploads idle 30 min are dropped, and so is one whose partial file the server lost)",
      conflict:
        "the bytes differ from those already written at this offset; abort the upload and start it again",
    },
  );
}

export async function abort(
  ctx: CallContext,
  si: StorageIndex,
  shnum: number,
  uploadSecret: Uint8Array,
  call: CallOptions | undefined,
): Promise<void> {
  const { errors } = ctx;
  const seg = storageIndexSegment(si, errors.argument("abort"));
  const op = `abort immutable upload ${seg}/${shnum}`;
  checkUint(errors, op, "share number", shnum);
  checkSecret(errors, op, "upload secret", uploadSecret);
  return ctx.emptyCall(
    op,
    {
      method: "PUT",
      path: `/storage/v1/immutable/${seg}/${shnum}/abort`,
      headers: ctx.secretHeaders([["upload-secret", uploadSecret]]),
    },
    call,
    [200],
    {
      unauthorized: "the upload secret differs from the one given to allocate",
      notFound: "no upload of this share is in progress",
    },
  );
}
