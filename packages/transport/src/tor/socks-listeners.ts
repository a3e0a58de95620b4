import type { ClientEndpoint } from "@lafs/config";

/**
 * GETINFO net/listeners/socks: a space-separated list of quoted addresses, e.g.
 * `"127.0.0.1:9050" "unix:/run/tor/socks"` (control-spec §3.9). Unusable entries are skipped.
 */
export function parseSocksListeners(value: string): ClientEndpoint[] {
  const out: ClientEndpoint[] = [];
  for (const m of value.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    const item = (m[1] ?? m[2] ?? "").replace(/\\(.)/g, "$1");
    if (item.startsWith("unix:")) {
      out.push({ kind: "unix", path: item.slice(5) });
      continue;
    }
    const hp = /^\[?([^\]]+?)\]?:(\d+)$/.exec(item);
    if (hp === null) continue;
    const host = hp[1] as string;
    // A SOCKS port bound to every interface is still reachable on loopback.
    const local = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
    out.push({ kind: "tcp", host: local, port: Number(hp[2]) });
  }
  return out;
}
