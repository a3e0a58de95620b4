import type { CallOptions, MutableSecrets } from "./client-api.js";
import { checkSecret } from "./client-call-errors.js";
import { type CallContext, cborBody } from "./client-exchange.js";
import { LEASE_SECRET_BYTES } from "./client-lease-calls.js";
import {
  type CborValue,
  encodeReadTestWrite,
  parseReadTestWrite,
  type ReadTestWriteRequest,
  type ReadTestWriteResult,
} from "./messages.js";
import { type StorageIndex, storageIndexSegment } from "./storage-index.js";

export async function readTestWrite(
  ctx: CallContext,
  si: StorageIndex,
  secrets: MutableSecrets,
  request: ReadTestWriteRequest,
  call: CallOptions | undefined,
): Promise<ReadTestWriteResult> {
  const { errors } = ctx;
  const seg = storageIndexSegment(si, errors.argument("read-test-write"));
  const op = `read-test-write ${seg}`;
  checkSecret(errors, op, "write enabler", secrets.writeEnabler);
  checkSecret(errors, op, "renew secret", secrets.renewSecret, LEASE_SECRET_BYTES);
  checkSecret(errors, op, "cancel secret", secrets.cancelSecret, LEASE_SECRET_BYTES);
  let encoded: CborValue;
  try {
    encoded = encodeReadTestWrite(request);
  } catch (err) {
    throw errors.argument(op)(err instanceof Error ? err.message : String(err));
  }
  const { body, type } = cborBody(encoded);
  return ctx.cborCall(
    op,
    {
      method: "POST",
      path: `/storage/v1/mutable/${seg}/read-test-write`,
      headers: [
        ...ctx.secretHeaders([
          ["lease-renew-secret", secrets.renewSecret],
          ["lease-cancel-secret", secrets.cancelSecret],
          ["write-enabler", secrets.writeEnabler],
        ]),
        ...type,
      ],
      body,
    },
    call,
    [200],
    parseReadTestWrite,
    { unauthorized: "the write enabler differs from the one stored with the existing shares" },
  );
}
