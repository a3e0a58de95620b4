import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

type Transfer = (this: ArrayBuffer, newLength?: number) => ArrayBuffer;

/**
 * Buffers smaller than this are left to the garbage collector: freeing them gains little. (Node's
 * shared 8 KiB Buffer pool is out of reach anyway: no Buffer from it views the whole pool.)
 */
export const FREE_NOW_MIN_BYTES = 4 * 1024;

let transfer: Transfer | null | undefined;

/**
 * ArrayBuffer.prototype.transfer: native from Node 21. Node 20's V8 has it behind a harmony
 * flag that only contexts made after the flag is set see; the function taken from such a
 * context works on this context's buffers (it checks the receiver's type, not its realm).
 */
function findTransfer(): Transfer | null {
  const native = (ArrayBuffer.prototype as { transfer?: Transfer }).transfer;
  if (typeof native === "function") return native;
  try {
    setFlagsFromString("--harmony-rab-gsab-transfer");
    const borrowed = runInNewContext("ArrayBuffer.prototype.transfer") as unknown;
    return typeof borrowed === "function" ? (borrowed as Transfer) : null;
  } catch {
    return null;
  } finally {
    setFlagsFromString("--no-harmony-rab-gsab-transfer");
  }
}

/** Whether freeNow can free memory here (false means it does nothing and the GC frees later). */
export function canFreeNow(): boolean {
  transfer ??= findTransfer();
  return transfer !== null;
}

/**
 * Gives a large buffer's memory back now instead of at some later garbage collection. A
 * transfer moves MiB-sized Buffers while allocating few JS objects, so V8 collects seldom and
 * dead Buffers pile up to tens of MB; freeing each as soon as its bytes are no longer needed
 * keeps the process near its live set. Afterwards every view of the buffer has length 0.
 *
 * The caller must own the whole ArrayBuffer (allocated for it alone, like cipher output, a
 * `new Uint8Array(n)` or a socket read) and no other code may still read it: a view that
 * still points at it reads nothing. Buffers below FREE_NOW_MIN_BYTES, shared or WebAssembly
 * memory, and views of only part of their buffer are left alone.
 */
export function freeNow(view: ArrayBufferView): void {
  const buffer = view.buffer;
  if (
    !(buffer instanceof ArrayBuffer) ||
    buffer.byteLength < FREE_NOW_MIN_BYTES ||
    view.byteOffset !== 0 ||
    view.byteLength !== buffer.byteLength
  ) {
    return;
  }
  transfer ??= findTransfer();
  if (transfer === null) return;
  try {
    transfer.call(buffer, 0);
  } catch {
    // Not detachable (a WebAssembly memory's buffer): the GC frees it as before.
  }
}
