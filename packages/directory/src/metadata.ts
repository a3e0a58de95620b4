/**
 * dirnode.update_metadata: the caller's metadata replaces everything but `tahoe`; `tahoe` keeps
 * linkcrtime (or takes an old `ctime`, or now) and gets linkmotime = now. Key order follows
 * Python's dict insertion order, so the JSON matches Tahoe's.
 */
export function updateMetadata(
  old: Readonly<Record<string, unknown>> | undefined,
  given: Readonly<Record<string, unknown>> | undefined,
  now: number,
): Record<string, unknown> {
  const previous = old ?? {};
  const oldCtime = previous.ctime;
  let metadata: Record<string, unknown>;
  if (given !== undefined) {
    metadata = {};
    for (const [k, v] of Object.entries(given)) if (k !== "tahoe") metadata[k] = v;
    if ("tahoe" in previous) metadata.tahoe = previous.tahoe;
  } else {
    metadata = { ...previous };
  }
  const oldTahoe = metadata.tahoe;
  const tahoe: Record<string, unknown> =
    oldTahoe !== null && typeof oldTahoe === "object" && !Array.isArray(oldTahoe)
      ? { ...(oldTahoe as Record<string, unknown>) }
      : {};
  if (!("linkcrtime" in tahoe)) tahoe.linkcrtime = oldCtime ?? now;
  tahoe.linkmotime = now;
  // Python sets metadata['tahoe'] on the dict: an existing key keeps its place, a new one goes last.
  metadata.tahoe = tahoe;
  return metadata;
}

/** time.time(): seconds as a float. */
export function nowSeconds(): number {
  return (performance.timeOrigin + performance.now()) / 1000;
}
