import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { runCli } from "../src/index.js";

/** The port the injected allocator hands out, so tahoe.cfg text is exact. */
export const FIXED_PORT = 34567;

export interface Sandbox {
  readonly root: string;
  readonly home: string;
  /** The working directory commands run in. */
  readonly cwd: string;
  readonly allocations: { host?: string | undefined }[];
  run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  cleanup(): void;
}

export function makeSandbox(): Sandbox {
  const root = mkdtempSync(join(tmpdir(), "lafs-cli-"));
  const home = join(root, "home");
  const cwd = join(root, "work");
  mkdirSync(home);
  mkdirSync(cwd);
  const allocations: { host?: string | undefined }[] = [];
  return {
    root,
    home,
    cwd,
    allocations,
    async run(argv) {
      let stdout = "";
      let stderr = "";
      const code = await runCli(argv, {
        stdout: (t) => {
          stdout += t;
        },
        stderr: (t) => {
          stderr += t;
        },
        cwd,
        env: {},
        homeDir: home,
        allocatePort: async (options) => {
          allocations.push({ host: options?.host });
          return FIXED_PORT;
        },
      });
      return { code, stdout, stderr };
    },
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** Every file and directory under `dir`, relative, with its permission bits. */
export function listTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      const st = statSync(path);
      out[relative(dir, path) + (st.isDirectory() ? "/" : "")] = (st.mode & 0o777).toString(8);
      if (st.isDirectory()) walk(path);
    }
  };
  walk(dir);
  return out;
}
