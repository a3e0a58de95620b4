import { StorageServerError } from "./errors.js";

export function corruptContainer(path: string, why: string): StorageServerError {
  return new StorageServerError(
    "TAHOE_ERR_STORAGE_SERVER_CORRUPT_CONTAINER",
    500,
    `share file ${path}: ${why}`,
    {
      hint: "the share file is damaged or not a Tahoe-LAFS container; move it out of storage/shares and let the client repair the file",
    },
  );
}
