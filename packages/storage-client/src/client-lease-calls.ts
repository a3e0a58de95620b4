import type { CallOptions, LeaseSecrets } from "./client-api.js";
import { checkSecret } from "./client-call-errors.js";
import type { CallContext } from "./client-exchange.js";
import { type StorageIndex, storageIndexSegment } from "./storage-index.js";

/** Renew and cancel secrets are 32 bytes (wire-formats §2.13). */
export const LEASE_SECRET_BYTES = 32;

export async function addOrRenewLease(
  ctx: CallContext,
  si: StorageIndex,
  secrets: LeaseSecrets,
  call: CallOptions | undefined,
): Promise<void> {
  const { errors } = ctx;
  const seg = storageIndexSegment(si, errors.argument("add or renew lease"));
  const op = `add or renew lease ${seg}`;
  checkSecret(errors, op, "renew secret", secrets.renewSecret, LEASE_SECRET_BYTES);
  checkSecret(errors, op, "cancel secret", secrets.cancelSecret, LEASE_SECRET_BYTES);
  return ctx.emptyCall(
    op,
    {
      method: "PUT",
      path: `/storage/v1/lease/${seg}`,
      headers: ctx.secretHeaders([
        ["lease-renew-secret", secrets.renewSecret],
        ["lease-cancel-secret", secrets.cancelSecret],
      ]),
    },
    call,
    [204, 200],
    { notFound: "the server holds no complete share of this storage index" },
  );
}
