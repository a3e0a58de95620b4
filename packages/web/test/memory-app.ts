import type { FastifyInstance } from "fastify";
import { afterEach, beforeEach } from "vitest";
import { createWebApp, type WebAppOptions } from "../src/index.js";
import { createMemoryDirectories } from "./memory-directories.js";
import { createMemoryNode, type MemoryNode } from "./memory-node.js";

export interface MemoryApp {
  node: MemoryNode;
  app: FastifyInstance;
}

/**
 * Before each test of the calling file, a fresh memory node (with in-memory directories when
 * `directories` is set) and a web app on it made with `options`, both handed to `made`; after
 * each test the app is closed. Call it at the top of the file.
 */
export function useMemoryApp(
  made: (fresh: MemoryApp) => void,
  options: WebAppOptions,
  { directories = false } = {},
): void {
  let app: FastifyInstance | undefined;
  beforeEach(async () => {
    const node = createMemoryNode();
    if (directories) node.directories = createMemoryDirectories();
    app = await createWebApp(node, options);
    made({ node, app });
  });
  afterEach(() => app?.close());
}
