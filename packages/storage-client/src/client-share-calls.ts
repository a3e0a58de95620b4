import type { CallOptions, ShareKind } from "./client-api.js";
import { checkUint } from "./client-call-errors.js";
import { timedForBody } from "./client-call-limits.js";
import { type CallContext, cborBody } from "./client-exchange.js";
import { headerValue, mediaType, OCTETS, type Reply } from "./client-reply.js";
import { parseShareSet } from "./messages.js";
import { type StorageIndex, storageIndexSegment } from "./storage-index.js";

const MAX_REASON_BYTES = 32757;

/**
 * Up to `length` bytes from `offset` of an immutable or mutable share; shorter (or empty) where
 * the share ends. The bytes are the reply's own buffer, which nothing else holds.
 */
export async function readShare(
  ctx: CallContext,
  kind: ShareKind,
  si: StorageIndex,
  shnum: number,
  offset: number,
  length: number,
  call: CallOptions | undefined,
): Promise<Uint8Array> {
  const operation = `read ${kind} share`;
  const seg = storageIndexSegment(si, ctx.errors.argument(operation));
  const op = `${operation} ${seg}/${shnum} bytes ${offset}+${length}`;
  checkUint(ctx.errors, op, "share number", shnum);
  checkUint(ctx.errors, op, "offset", offset);
  checkUint(ctx.errors, op, "length", length);
  if (length === 0) return new Uint8Array(0);
  const last = offset + length - 1;
  const reply = await ctx.exchange(
    op,
    {
      method: "GET",
      path: `/storage/v1/${kind}/${seg}/${shnum}`,
      headers: ["range", `bytes=${offset}-${last}`, ...ctx.secretHeaders([])],
    },
    timedForBody(call, ctx.defaultTimeout, length),
    // Room for an error page too; a 206 body longer than asked for is caught below.
    Math.max(length, 65536),
  );
  if (reply.status === 204) return new Uint8Array(0);
  if (reply.status !== 206) {
    if (reply.status === 200) {
      throw ctx.errors.protocol(op, "the server ignored the Range header (HTTP 200, whole share)", 200);
    }
    throw ctx.errors.status(op, reply, {
      notFound: "the server holds no such share (or its upload is unfinished)",
    });
  }
  checkPartialReply(ctx, op, reply, offset, last);
  return new Uint8Array(reply.body.buffer, reply.body.byteOffset, reply.body.length);
}

/** A 206 reply must be octets, start where asked, end within the range and be as long as it says. */
function checkPartialReply(ctx: CallContext, op: string, reply: Reply, offset: number, last: number): void {
  const type = mediaType(reply.headers);
  if (type !== OCTETS) {
    throw ctx.errors.protocol(
      op,
      `the HTTP 206 reply has Content-Type '${type ?? "(none)"}' instead of ${OCTETS}`,
      206,
    );
  }
  const range = headerValue(reply.headers, "content-range") ?? "";
  const m = /^bytes (\d+)-(\d+)\/(\*|\d+)$/.exec(range.trim());
  if (!m) throw ctx.errors.protocol(op, `the HTTP 206 reply has Content-Range '${range}'`, 206);
  const first = Number(m[1]);
  const end = Number(m[2]);
  if (first !== offset || end < first || end > last) {
    throw ctx.errors.protocol(
      op,
      `the server sent bytes ${first}-${end}, not within the requested ${offset}-${last}`,
      206,
    );
  }
  if (reply.body.length !== end - first + 1) {
    throw ctx.errors.protocol(
      op,
      `Content-Range says ${end - first + 1} bytes but the body has ${reply.body.length}`,
      206,
    );
  }
}

export async function listShares(
  ctx: CallContext,
  kind: ShareKind,
  si: StorageIndex,
  call: CallOptions | undefined,
): Promise<number[]> {
  const seg = storageIndexSegment(si, ctx.errors.argument(`list ${kind} shares`));
  return ctx.cborCall(
    `list ${kind} shares ${seg}`,
    { method: "GET", path: `/storage/v1/${kind}/${seg}/shares`, headers: ctx.secretHeaders([]) },
    call,
    [200],
    parseShareSet,
  );
}

export async function adviseCorrupt(
  ctx: CallContext,
  kind: ShareKind,
  si: StorageIndex,
  shnum: number,
  reason: string,
  call: CallOptions | undefined,
): Promise<void> {
  const seg = storageIndexSegment(si, ctx.errors.argument("advise corrupt share"));
  const op = `advise corrupt ${kind} share ${seg}/${shnum}`;
  checkUint(ctx.errors, op, "share number", shnum);
  const size = Buffer.byteLength(reason, "utf8");
  if (size < 1 || size > MAX_REASON_BYTES) {
    throw ctx.errors.argument(op)(`the reason is ${size} bytes; it must be 1 to ${MAX_REASON_BYTES}`);
  }
  const { body, type } = cborBody({ reason });
  return ctx.emptyCall(
    op,
    {
      method: "POST",
      path: `/storage/v1/${kind}/${seg}/${shnum}/corrupt`,
      headers: [...ctx.secretHeaders([]), ...type],
      body,
    },
    call,
    [200],
  );
}
