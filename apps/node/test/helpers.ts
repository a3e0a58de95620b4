import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:https";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import {
  NODE_FILES,
  parseNurl,
  prepareNewNodeDirectory,
  writeFileAtomic,
  writePrivateFile,
} from "@lafs/config";
import {
  createTlsIdentity,
  formatTlsIdentityPem,
  generateNodeKey,
  spkiHashOfCertificate,
} from "@lafs/crypto";
import { allocatePort } from "@lafs/transport";

export function tempDir(prefix = "lafs-node-"): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export interface NodeDirOptions {
  /** Lines added to [node]. */
  node?: string[];
  /** The whole [storage] section body; default enabled = true. */
  storage?: string[];
  /** Leave tub.port and tub.location out. */
  noTub?: boolean;
}

/** A node directory as create-node makes it, with a free loopback port in tahoe.cfg. */
export async function makeNodeDir(basedir: string, options: NodeDirOptions = {}): Promise<{ port: number }> {
  const port = await allocatePort({ host: "127.0.0.1" });
  await prepareNewNodeDirectory(basedir);
  const tub = options.noTub
    ? []
    : [`tub.port = tcp:${port}:interface=127.0.0.1`, `tub.location = tcp:127.0.0.1:${port}`];
  const cfg = [
    "[node]",
    "nickname = test-node",
    "web.port =",
    ...tub,
    ...(options.node ?? []),
    "",
    "[storage]",
    ...(options.storage ?? ["enabled = true", "reserved_space = 0"]),
    "",
  ].join("\n");
  await writeFileAtomic(join(basedir, NODE_FILES.config), cfg);
  const key = generateNodeKey();
  await writePrivateFile(basedir, NODE_FILES.nodePrivkey, `${key.privateKey}\n`);
  await writeFileAtomic(join(basedir, NODE_FILES.nodePubkey), `${key.publicKey}\n`);
  await writePrivateFile(basedir, NODE_FILES.nodePem, formatTlsIdentityPem(createTlsIdentity()));
  return { port };
}

export interface VersionReply {
  status: number;
  contentType: string | undefined;
  body: Buffer;
}

/**
 * GET /storage/v1/version as a Tahoe-LAFS client does it: no CA, no SNI, the certificate's SPKI
 * hash checked against the NURL's pin, `Authorization: Tahoe-LAFS base64(swissnum)`.
 */
export function getStorageVersion(nurl: string, swissnum?: string): Promise<VersionReply> {
  const parsed = parseNurl(nurl);
  const hint = parsed.hints[0]!;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: hint.host,
        port: hint.port,
        path: "/storage/v1/version",
        method: "GET",
        rejectUnauthorized: false,
        agent: false,
        headers: {
          authorization: `Tahoe-LAFS ${Buffer.from(swissnum ?? parsed.swissnum).toString("base64")}`,
          accept: "application/cbor",
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers["content-type"],
            body: Buffer.concat(chunks),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("socket", (socket) => {
      (socket as TLSSocket).once("secureConnect", () => {
        const raw = (socket as TLSSocket).getPeerCertificate().raw;
        if (spkiHashOfCertificate(raw) !== parsed.spkiHash) {
          req.destroy(new Error("the server's certificate does not match the NURL's pin"));
        }
      });
    });
    req.on("error", reject);
    req.end();
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
