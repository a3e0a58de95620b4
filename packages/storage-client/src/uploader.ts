import {
  type ByteSource,
  formatLiteralCap,
  LITERAL_MAX_SIZE,
  startChkEncode,
  startChkEncodeOfCrypttext,
} from "@lafs/immutable";
import { silentLogger } from "@lafs/interface";
import { UploadError } from "./transfer-errors.js";
import type { UploadOptions, UploadResult } from "./uploader-api.js";
import { runUpload } from "./uploader-run.js";

export type { UploadOptions, UploadResult } from "./uploader-api.js";

/** A file of 55 bytes or less is its own cap: nothing is sent. */
async function uploadLiteral(source: ByteSource, options: UploadOptions): Promise<UploadResult> {
  const { k, happy, n } = options;
  const data = await source.read(0, source.size);
  if (data.length !== source.size) {
    throw new UploadError(
      "TAHOE_ERR_UPLOAD_SOURCE_CHANGED",
      `${source.name}: expected ${source.size} bytes, read ${data.length}`,
      {
        hint: "the file changed size while it was being uploaded; upload it again when nothing is writing to it",
      },
    );
  }
  return {
    kind: "lit",
    cap: formatLiteralCap(data),
    verifyCap: undefined,
    storageIndex: undefined,
    size: source.size,
    k,
    happy,
    n,
    happiness: 0,
    sharesByServer: new Map(),
    uploadedShares: new Map(),
    reusedShares: new Map(),
    failedServers: [],
    bytesSent: 0,
    writeRequests: 0,
  };
}

/**
 * Uploads an immutable file: LIT for 55 bytes or less (nothing is sent), else CHK shares
 * placed by servers-of-happiness on the allowed servers, with every required server holding
 * a share. A refused placement throws @lafs/placement's PlacementRefusedError before any
 * allocate or write. Shares the servers already hold are reused. A server that fails during
 * the upload has its buckets aborted; if happiness can no longer be reached the whole upload
 * is aborted (TAHOE_ERR_UPLOAD_UNHAPPY), otherwise its shares are re-placed on other servers
 * after the main pass by encoding the source again with the same key (so the source must be
 * re-readable, as every ByteSource is).
 */
export async function uploadImmutable(source: ByteSource, options: UploadOptions): Promise<UploadResult> {
  const { k, n } = options;
  if (source.size <= LITERAL_MAX_SIZE && options.crypttextOf === undefined)
    return uploadLiteral(source, options);
  const logger = (options.logger ?? silentLogger).child({ component: "uploader" });
  const encodeParams = { k, n, maxSegmentSize: options.maxSegmentSize };
  const { crypttextOf } = options;
  if (crypttextOf !== undefined) {
    const encode = () => startChkEncodeOfCrypttext(source, { ...encodeParams, storageIndex: crypttextOf });
    return runUpload(encode(), async () => encode(), options, logger);
  }
  const encoding = await startChkEncode(
    source,
    options.encryptionKey !== undefined
      ? { ...encodeParams, encryptionKey: options.encryptionKey }
      : options.randomKey
        ? { ...encodeParams, randomKey: true }
        : { ...encodeParams, convergenceSecret: options.convergenceSecret },
  );
  // Replacement shares come from the same source encoded again with the same key.
  const again = () => startChkEncode(source, { ...encodeParams, encryptionKey: encoding.key });
  return runUpload(encoding, again, options, logger);
}
