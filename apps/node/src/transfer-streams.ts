/** Counts the bytes that pass, reporting the running total. */
export async function* counting<T extends Uint8Array>(
  chunks: AsyncIterable<T>,
  report: (total: number) => void,
): AsyncGenerator<T, void, undefined> {
  let total = 0;
  for await (const chunk of chunks) {
    total += chunk.length;
    report(total);
    yield chunk;
  }
}

/** Stops pulling segments once the caller's signal fires (the HTTP client went away). */
export async function* readWithSignal(
  chunks: AsyncIterable<Uint8Array>,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array, void, undefined> {
  const iterator = chunks[Symbol.asyncIterator]();
  try {
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
      signal?.throwIfAborted();
      yield r.value;
    }
  } finally {
    await iterator.return?.(undefined);
  }
}
