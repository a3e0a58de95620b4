import { type BucketLeaseSecrets, bucketLeaseSecrets, taggedHash, taggedPairHash } from "@lafs/crypto";
import { createCtrCipher } from "@lafs/immutable";
import { MutableError } from "./errors.js";
import type { MutableKeyPair } from "./rsa.js";

const WRITEKEY_TAG = "allmydata_mutable_privkey_to_writekey_v1";
const READKEY_TAG = "allmydata_mutable_writekey_to_readkey_v1";
const STORAGE_INDEX_TAG = "allmydata_mutable_readkey_to_storage_index_v1";
const FINGERPRINT_TAG = "allmydata_mutable_pubkey_to_fingerprint_v1";
const DATAKEY_TAG = "allmydata_mutable_readkey_to_datakey_v1";
const WE_MASTER_TAG = "allmydata_mutable_writekey_to_write_enabler_master_v1";
const WE_TAG = "allmydata_mutable_write_enabler_master_and_nodeid_to_write_enabler_v1";

/** writekey = tagged_hash(privkey tag, PKCS#8 DER, 16). */
export function writekeyOf(privateKeyDer: Uint8Array): Uint8Array {
  return taggedHash(WRITEKEY_TAG, privateKeyDer, 16);
}

/** readkey = tagged_hash(writekey tag, writekey, 16). */
export function readkeyOf(writekey: Uint8Array): Uint8Array {
  return taggedHash(READKEY_TAG, writekey, 16);
}

/** storage index = tagged_hash(readkey tag, readkey, 16). */
export function storageIndexOfReadkey(readkey: Uint8Array): Uint8Array {
  return taggedHash(STORAGE_INDEX_TAG, readkey, 16);
}

/** The "verification-key hash" every mutable cap carries: tagged_hash(pubkey tag, SPKI DER). */
export function fingerprintOf(publicKeyDer: Uint8Array): Uint8Array {
  return taggedHash(FINGERPRINT_TAG, publicKeyDer);
}

/** The AES-128 key of one segment (or of the SDMF file): tagged_pair_hash(datakey tag, salt, readkey, 16). */
export function dataKeyOf(salt: Uint8Array, readkey: Uint8Array): Uint8Array {
  return taggedPairHash(DATAKEY_TAG, salt, readkey, 16);
}

/** AES-128-CTR from counter 0; its own inverse. */
export function aesCtr(key: Uint8Array, data: Uint8Array): Uint8Array {
  // CTR is a stream mode: final() never adds bytes, so update's output is the whole result.
  return createCtrCipher(key).update(data);
}

/** encprivkey = AES-128-CTR(writekey, PKCS#8 DER): what every share carries for writers. */
export function encryptPrivateKey(writekey: Uint8Array, privateKeyDer: Uint8Array): Uint8Array {
  return aesCtr(writekey, privateKeyDer);
}

/**
 * The PKCS#8 DER inside `encprivkey`, accepted only when it hashes back to `writekey`
 * (as Tahoe's servermap checks it). Undefined when it does not.
 */
export function decryptPrivateKey(writekey: Uint8Array, encprivkey: Uint8Array): Uint8Array | undefined {
  const der = aesCtr(writekey, encprivkey);
  return Buffer.from(writekeyOf(der)).equals(writekey) ? der : undefined;
}

/** write-enabler master = tagged_hash(master tag, writekey). */
export function writeEnablerMasterOf(writekey: Uint8Array): Uint8Array {
  return taggedHash(WE_MASTER_TAG, writekey);
}

function checkTubId(serverTubId: Uint8Array): void {
  if (serverTubId.length !== 20) {
    throw new MutableError(
      "TAHOE_ERR_MUTABLE_PARAMS",
      `a server tub id is ${serverTubId.length} bytes, not 20`,
      {
        hint: "Use the 20-byte Foolscap tub id: the base32-decoded part of the server's anonymous-storage-FURL between pb:// and @.",
      },
    );
  }
}

/** The write enabler one server checks: tagged_pair_hash(WE tag, master, server's 20-byte tub id). */
export function writeEnablerFor(writeEnablerMaster: Uint8Array, serverTubId: Uint8Array): Uint8Array {
  checkTubId(serverTubId);
  return taggedPairHash(WE_TAG, writeEnablerMaster, serverTubId);
}

export type LeaseSecrets = BucketLeaseSecrets;

/**
 * A mutable share's lease secrets on one server: the client secret chain of wire-formats §2.13
 * over the mutable storage index and the server's tub id (the same chain as for immutables).
 */
export function mutableLeaseSecrets(
  clientLeaseSecret: Uint8Array,
  storageIndex: Uint8Array,
  serverTubId: Uint8Array,
): LeaseSecrets {
  checkTubId(serverTubId);
  return bucketLeaseSecrets(clientLeaseSecret, storageIndex, serverTubId);
}

/** Everything a writer derives from the key pair. */
export interface MutableSecrets {
  readonly writekey: Uint8Array;
  readonly readkey: Uint8Array;
  readonly storageIndex: Uint8Array;
  readonly fingerprint: Uint8Array;
  readonly encprivkey: Uint8Array;
  readonly writeEnablerMaster: Uint8Array;
}

export function deriveMutableSecrets(keyPair: MutableKeyPair): MutableSecrets {
  const writekey = writekeyOf(keyPair.privateKeyDer);
  const readkey = readkeyOf(writekey);
  return {
    writekey,
    readkey,
    storageIndex: storageIndexOfReadkey(readkey),
    fingerprint: fingerprintOf(keyPair.publicKeyDer),
    encprivkey: encryptPrivateKey(writekey, keyPair.privateKeyDer),
    writeEnablerMaster: writeEnablerMasterOf(writekey),
  };
}
