import { readFileSync } from "node:fs";

/** The version in apps/cli/package.json; src/ and dist/ both sit one level below it. */
export function cliVersion(): string {
  const text = readFileSync(new URL("../package.json", import.meta.url), "utf8");
  const version: unknown = (JSON.parse(text) as { version?: unknown }).version;
  return typeof version === "string" ? version : "unknown";
}

/** What `tahoe --version` prints. */
export function versionLine(): string {
  return `lafs-ts ${cliVersion()} (Tahoe-LAFS 1.20 compatible)\n`;
}
