import { readFileSync } from "node:fs";

/** `lafs-ts/VERSION`, in the place of Tahoe-LAFS's `tahoe-lafs/1.20.0` (application-version, my-version). */
export function applicationVersion(): string {
  // src/ and dist/ both sit one level below package.json.
  const text = readFileSync(new URL("../package.json", import.meta.url), "utf8");
  const version: unknown = (JSON.parse(text) as { version?: unknown }).version;
  return `lafs-ts/${typeof version === "string" ? version : "unknown"}`;
}
