import type { StorageClient, StorageClientOptions } from "./client-api.js";
import { createCallContext } from "./client-exchange.js";
import { abort, allocate, write } from "./client-immutable-calls.js";
import { addOrRenewLease } from "./client-lease-calls.js";
import { readTestWrite } from "./client-mutable-calls.js";
import { adviseCorrupt, listShares, readShare } from "./client-share-calls.js";
import { parseVersion } from "./messages.js";

export type {
  AllocateRequest,
  CallOptions,
  LeaseSecrets,
  MutableSecrets,
  ShareKind,
  StorageAnswer,
  StorageClient,
  StorageClientOptions,
} from "./client-api.js";

/** Creates a GBS client for the server a NURL names. Nothing is dialed until the first call. */
export function createStorageClient(options: StorageClientOptions): StorageClient {
  const ctx = createCallContext(options);
  const client: StorageClient = {
    server: ctx.server,
    async version(call) {
      return ctx.cborCall(
        "version",
        { method: "GET", path: "/storage/v1/version", headers: ctx.secretHeaders([]) },
        call,
        [200],
        parseVersion,
      );
    },
    listImmutableShares: (si, call) => listShares(ctx, "immutable", si, call),
    listMutableShares: (si, call) => listShares(ctx, "mutable", si, call),
    allocate: (si, request, call) => allocate(ctx, (c) => client.version(c), si, request, call),
    write: (si, shnum, offset, data, uploadSecret, call) =>
      write(ctx, si, shnum, offset, data, uploadSecret, call),
    abort: (si, shnum, uploadSecret, call) => abort(ctx, si, shnum, uploadSecret, call),
    read: (si, shnum, offset, length, call) => readShare(ctx, "immutable", si, shnum, offset, length, call),
    readMutable: (si, shnum, offset, length, call) =>
      readShare(ctx, "mutable", si, shnum, offset, length, call),
    adviseCorrupt: (kind, si, shnum, reason, call) => adviseCorrupt(ctx, kind, si, shnum, reason, call),
    addOrRenewLease: (si, secrets, call) => addOrRenewLease(ctx, si, secrets, call),
    readTestWrite: (si, secrets, request, call) => readTestWrite(ctx, si, secrets, request, call),
    close: () => ctx.close(),
  };
  return client;
}
