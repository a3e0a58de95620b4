// The storage server of `pnpm bench:storage-hostile`, alone in its own process so its RSS is
// its own: started by bench/hostile.ts with fork(), it reports its port and swissnum over
// IPC and serves until the parent disconnects.

import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { base32Encode, createTlsIdentity } from "@lafs/crypto";

// LAFS_BENCH_DIST points at another build (e.g. an older one, to compare); ../dist by default.
const { createStorageServer } = await import(process.env.LAFS_BENCH_DIST ?? "../dist/index.js");

const dir = process.argv[2];
const swissnum = base32Encode(randomBytes(20));
const identity = createTlsIdentity({ commonName: "bench-hostile" });
const server = createStorageServer({
  storageDir: join(dir, "storage"),
  swissnum,
  writeEnablerNodeId: randomBytes(20),
  tls: { keyPem: identity.keyPem, certPem: identity.certPem },
  listen: [{ kind: "tcp", port: 0, interface: "127.0.0.1" }],
});
await server.start();
process.send({ port: server.addresses()[0].port, swissnum });
process.on("disconnect", () => {
  server.stop().finally(() => process.exit(0));
});
