// Preloaded into a node process (NODE_OPTIONS=--import) by node-privacy.test.ts: it records
// every outbound socket connection and every DNS call the process makes, one JSON line each,
// in $TRIPWIRE_LOG. DNS calls also fail, so a leak cannot go unnoticed even if logging did.

import dns from "node:dns";
import { appendFileSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import net from "node:net";

// biome-ignore lint/suspicious/noUndeclaredEnvVars: set by the test that preloads this file, not by a turbo task
const log = process.env.TRIPWIRE_LOG;
const record = (entry) => appendFileSync(log, `${JSON.stringify(entry)}\n`);

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const first = args[0];
  const options = Array.isArray(first) ? first[0] : first;
  if (options !== null && typeof options === "object") {
    record({ kind: "connect", host: options.host, port: options.port, path: options.path });
  } else {
    record({ kind: "connect", port: first, host: typeof args[1] === "string" ? args[1] : undefined });
  }
  return connect.apply(this, args);
};

for (const name of [
  "lookup",
  "lookupService",
  "resolve",
  "resolve4",
  "resolve6",
  "resolveAny",
  "resolveSrv",
  "resolveTxt",
]) {
  const original = dns[name];
  dns[name] = function (...args) {
    // Node "looks up" IP literals too (listen, connect); that answers locally and sends nothing.
    if (name === "lookup" && net.isIP(String(args[0])) !== 0) return original.apply(this, args);
    record({ kind: "dns", name, target: String(args[0]) });
    return original.apply(this, ["dns-blocked-by-tripwire.invalid", ...args.slice(1)]);
  };
  const promised = dns.promises[name];
  if (promised) {
    dns.promises[name] = (...args) => {
      if (name === "lookup" && net.isIP(String(args[0])) !== 0) return promised.apply(dns.promises, args);
      record({ kind: "dns", name: `promises.${name}`, target: String(args[0]) });
      return Promise.reject(new Error("DNS blocked by the privacy tripwire"));
    };
  }
}
syncBuiltinESMExports();
