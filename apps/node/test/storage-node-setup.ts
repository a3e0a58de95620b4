import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { NODE_FILES, writeFileAtomic, writePrivateFile } from "@lafs/config";
import { base32Encode } from "@lafs/crypto";
import { silentLogger } from "@lafs/interface";
import { afterEach, beforeEach } from "vitest";
import { createNode, type TahoeNode } from "../src/index.js";
import { makeNodeDir, type NodeDirOptions, tempDir } from "./helpers.js";

export interface StartedStorageNode {
  readonly node: TahoeNode;
  readonly basedir: string;
  /** The web front's base URL (welcome page, `?t=json`). */
  readonly url: string;
  /** The storage server's first NURL, for a GBS client. */
  readonly nurl: string;
}

/**
 * For tests of a storage node's welcome page: each test gets a fresh node directory in a temp
 * dir, and the node a test started is stopped and the dir removed after it, even on failure.
 * Call at the top of a test file; `start` makes the directory (web on 127.0.0.1, any port,
 * fresh secrets) and starts the node.
 */
export function useStorageNode(): { start(options?: NodeDirOptions): Promise<StartedStorageNode> } {
  let dir: ReturnType<typeof tempDir>;
  let node: TahoeNode | undefined;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(async () => {
    await node?.stop();
    node = undefined;
    dir.cleanup();
  });
  return {
    async start(options = {}) {
      const basedir = join(dir.path, "node");
      await makeNodeDir(basedir, options);
      const cfg = await readFile(join(basedir, "tahoe.cfg"), "utf8");
      await writeFileAtomic(
        join(basedir, "tahoe.cfg"),
        cfg.replace("web.port =", "web.port = tcp:0:interface=127.0.0.1"),
      );
      await writePrivateFile(basedir, NODE_FILES.secret, `${base32Encode(randomBytes(32))}\n`);
      await writePrivateFile(basedir, NODE_FILES.convergence, `${base32Encode(randomBytes(16))}\n`);
      node = createNode(basedir, { logger: silentLogger, applicationVersion: "lafs-ts/test" });
      await node.start();
      const status = node.status();
      return { node, basedir, url: status.nodeUrl!, nurl: status.storage!.nurls[0]! };
    },
  };
}
