import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { addOnion, createTorProvider, delOnion, launchTor, publishOnionService } from "../src/index.js";
import { missingTor } from "./tor-helpers.js";

// Every tor here runs with DisableNetwork 1 (nothing leaves the machine): ADD_ONION still works.
const skip = missingTor();
const temp = mkdtempSync(join(tmpdir(), "lafs-tor-launch-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(skip !== undefined)("a launched tor (offline)", () => {
  it("starts with cookie auth in its data directory, makes onion keys, and exits on stop", async () => {
    const dir = join(temp, "state-1");
    const tor = await launchTor({ dataDirectory: dir, disableNetwork: true });
    try {
      expect(alive(tor.pid)).toBe(true);
      expect(existsSync(join(dir, "control_auth_cookie"))).toBe(true);
      expect(readFileSync(join(dir, "torrc"), "utf8")).toContain("DisableNetwork 1");
      const onion = await addOnion(tor.control, { externalPort: 3457, localPort: 4000 });
      expect(onion.serviceId).toMatch(/^[a-z2-7]{55}d$/);
      expect(onion.privateKey).toMatch(/^ED25519-V3:[A-Za-z0-9+/]{86}==$/);
      await delOnion(tor.control, onion.serviceId);
      // The same key gives the same address again: what `tahoe run` relies on.
      const again = await addOnion(tor.control, {
        privateKey: onion.privateKey,
        externalPort: 3457,
        localPort: 4000,
      });
      expect(again.serviceId).toBe(onion.serviceId);
    } finally {
      await tor.stop();
    }
    expect(alive(tor.pid)).toBe(false);
  });

  it("reports bootstrap progress and times out with the step it is stuck at", async () => {
    const tor = await launchTor({ dataDirectory: join(temp, "state-2"), disableNetwork: true });
    try {
      const seen: number[] = [];
      const error = await tor
        .waitForBootstrap({ timeoutMs: 1500, onProgress: (p) => seen.push(p.progress) })
        .catch((e) => e);
      expect(error.code).toBe("TAHOE_ERR_TOR_BOOTSTRAP_TIMEOUT");
      expect(error.message).toMatch(/did not finish bootstrapping within 2 s: stuck at \d+% \(/);
      expect(error.hint).toContain("[tor]bootstrap.timeout");
      expect(seen.length).toBeGreaterThan(0);
    } finally {
      await tor.stop();
    }
  });

  it("shows what tor printed when it refuses its torrc ([tor]torrc.file)", async () => {
    const basedir = join(temp, "node-bad-torrc");
    const torrc = join(temp, "bad.torrc");
    writeFileSync(torrc, "# a typo\nDisableNetwork 1\nNoSuchTorOption 1\n");
    const provider = createTorProvider({
      basedir,
      tor: { enabled: true, launch: true, torrcFile: torrc },
    });
    const error = await provider.control().catch((e) => e);
    expect(error.code).toBe("TAHOE_ERR_TOR_LAUNCH");
    expect(error.message).toContain(
      `could not launch tor ('tor', data directory ${join(basedir, "private/tor-statedir")})`,
    );
    expect(error.message).toContain("NoSuchTorOption");
    await provider.stop();
  });

  it("names a missing tor executable", async () => {
    const provider = createTorProvider({
      basedir: join(temp, "node-no-tor"),
      tor: { enabled: true, launch: true, executable: "/nonexistent/tor" },
    });
    const error = await provider.control().catch((e) => e);
    expect(error.code).toBe("TAHOE_ERR_TOR_LAUNCH");
    expect(error.message).toContain("could not launch tor ('/nonexistent/tor'");
    expect(error.message).toContain("the program was not found");
  });

  it("re-publishes a saved key through a launched tor and takes it down again", async () => {
    const basedir = join(temp, "node-publish");
    const torrc = join(temp, "offline.torrc");
    writeFileSync(torrc, "DisableNetwork 1\n");
    const provider = createTorProvider({ basedir, tor: { enabled: true, launch: true, torrcFile: torrc } });
    try {
      const control = await provider.control();
      const made = await addOnion(control, { externalPort: 3457, localPort: 4001 });
      await delOnion(control, made.serviceId);
      const keyFile = join(temp, "tor_onion.privkey");
      writeFileSync(keyFile, made.privateKey);
      const published = await publishOnionService(provider, {
        privateKeyFile: keyFile,
        localPort: 4001,
        externalPort: 3457,
      });
      expect(published.serviceId).toBe(made.serviceId);
      expect((await control.getInfo("onions/current")).get("onions/current")).toContain(made.serviceId);
      await published.unpublish();
      expect((await control.getInfo("onions/current")).get("onions/current") ?? "").not.toContain(
        made.serviceId,
      );

      writeFileSync(keyFile, "garbage");
      const bad = await publishOnionService(provider, {
        privateKeyFile: keyFile,
        localPort: 4001,
        externalPort: 3457,
      }).catch((e) => e);
      expect(bad.code).toBe("TAHOE_ERR_TOR_ONION_KEY");
      expect(bad.message).toContain(`${keyFile} does not hold a v3 onion service key`);
    } finally {
      await provider.stop();
    }
  });
});
