import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allocatePort } from "../src/index.js";
import { i2pdConf } from "./i2pd-conf.js";

export function hasI2pd(): boolean {
  return spawnSync("sh", ["-c", "command -v i2pd"]).status === 0;
}

export interface RealI2pd {
  samPort: number;
  /** i2pd's own log, to quote when a test fails. */
  logFile: string;
  /** How i2pd ended, e.g. "signal SIGSEGV", or undefined while it runs. */
  exitStatus(): string | undefined;
  stop(): Promise<void>;
}

export interface OfflineI2pdOptions {
  /** i2pd's loglevel (default warn). */
  readonly logLevel?: "debug" | "info" | "warn" | "error" | undefined;
}

/**
 * An i2pd that cannot reach any other router: reseeding off (no URLs, threshold 0), a private
 * netid, UPnP, SSU2, IPv6 and NTP off, NTCP2 unpublished on 127.0.0.1, every client service but
 * SAM off; the address book on, with nothing to fetch. Zero-hop tunnels still let it create
 * sessions on its own (no destination can reach another: README, "An end-to-end I2P connection").
 */
export async function startOfflineI2pd(options: OfflineI2pdOptions = {}): Promise<RealI2pd> {
  const dir = await mkdtemp(join(tmpdir(), "lafs-i2pd-"));
  const samPort = await allocatePort({ host: "127.0.0.1" });
  const routerPort = await allocatePort({ host: "127.0.0.1" });
  const dataDir = join(dir, "data");
  const conf = i2pdConf({
    logFile: join(dir, "i2pd.log"),
    logLevel: options.logLevel ?? "warn",
    host: "127.0.0.1",
    routerPort,
    floodfill: false,
    published: false,
    samPort,
    emptySubscriptions: true,
  });
  await writeFile(join(dir, "i2pd.conf"), conf);
  await writeFile(join(dir, "tunnels.conf"), "");
  const child: ChildProcess = spawn(
    "i2pd",
    [
      `--datadir=${dataDir}`,
      `--conf=${join(dir, "i2pd.conf")}`,
      `--tunconf=${join(dir, "tunnels.conf")}`,
      `--tunnelsdir=${join(dir, "tunnels.d")}`,
      "--certsdir=/usr/share/i2pd/certificates",
    ],
    { stdio: "ignore" },
  );
  let status: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      status = signal ? `signal ${signal}` : `exit code ${code}`;
      resolve();
    }),
  );
  const stop = async () => {
    // SIGTERM starts i2pd's graceful shutdown, which waits for transit tunnels for minutes.
    child.kill("SIGKILL");
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const logFile = join(dir, "i2pd.log");
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect({ host: "127.0.0.1", port: samPort });
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (up) return { samPort, logFile, exitStatus: () => status, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`i2pd did not open its SAM port ${samPort} within 10 s`);
}
