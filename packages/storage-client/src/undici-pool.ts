import type { Pool } from "undici";

type PoolClass = typeof Pool;
type CommonJs<T> = { default: T };

/**
 * undici's Pool and its request API, without the rest of undici. The package's entry loads
 * every dispatcher, fetch, WebSocket, EventSource, the cache and the mocks (about 10 MB of a
 * node's RSS, measured in docs/performance.md, "Issue 23"); a storage client needs one Pool
 * and `request`. The entry does the same prototype assignment. Should a later undici move
 * these files, the whole package is loaded instead, so nothing breaks but the saving.
 */
export async function loadPool(): Promise<PoolClass> {
  try {
    const [pool, dispatcher, api] = (await Promise.all([
      import("undici/lib/dispatcher/pool.js" as string),
      import("undici/lib/dispatcher/dispatcher.js" as string),
      import("undici/lib/api/index.js" as string),
    ])) as [CommonJs<PoolClass>, CommonJs<{ prototype: object }>, CommonJs<object>];
    if (!("request" in dispatcher.default.prototype))
      Object.assign(dispatcher.default.prototype, api.default);
    return pool.default;
  } catch {
    return (await import("undici")).default.Pool;
  }
}
