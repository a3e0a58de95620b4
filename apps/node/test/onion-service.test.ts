import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { addOnion, delOnion, type LaunchedTor, launchTor } from "@lafs/transport";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNode } from "../src/index.js";
import { makeNodeDir, tempDir } from "./helpers.js";

const hasTor = (process.env.PATH ?? "").split(":").some((d) => d && existsSync(join(d, "tor")));
if (!hasTor)
  console.warn(
    "\n!!! SKIPPING onion-service tests: 'tor' not on PATH (apt-get install tor; .ci/run does) !!!\n",
  );

// The tor is offline (DisableNetwork 1): ADD_ONION works, nothing leaves the machine.
describe.skipIf(!hasTor)("tahoe run with [tor]onion = true", () => {
  const dir = tempDir();
  let tor: LaunchedTor;
  beforeAll(async () => {
    tor = await launchTor({ dataDirectory: join(dir.path, "test-tor"), disableNetwork: true });
  });
  afterAll(async () => {
    await tor?.stop();
    dir.cleanup();
  });

  it("re-publishes the saved onion key at start and removes the service at stop", async () => {
    const made = await addOnion(tor.control, { externalPort: 3457, localPort: 4000 });
    await delOnion(tor.control, made.serviceId);
    const controlPort =
      (await tor.control.getInfo("net/listeners/control")).get("net/listeners/control") ?? "";
    const basedir = join(dir.path, "node");
    const { port } = await makeNodeDir(basedir, {
      storage: ["enabled = false"],
    });
    await writeFile(join(basedir, "private", "tor_onion.privkey"), made.privateKey, { mode: 0o600 });
    const cfg = join(basedir, "tahoe.cfg");
    await writeFile(
      cfg,
      `${await readFile(cfg, "utf8")}\n[tor]\ncontrol.port = tcp:${controlPort.replace(/"/g, "")}\nonion = true\nonion.local_port = ${port}\nonion.external_port = 3457\nonion.private_key_file = private/tor_onion.privkey\n`,
    );
    const node = createNode(basedir);
    await node.start();
    try {
      // Tor refuses a second service with the same key while the node's is published.
      const clash = await addOnion(tor.control, {
        privateKey: made.privateKey,
        externalPort: 3457,
        localPort: 4000,
      }).catch((e) => e);
      expect(clash.code).toBe("TAHOE_ERR_TOR_CONTROL_COMMAND");
      expect(clash.message).toMatch(/collision/i);
    } finally {
      await node.stop();
    }
    const after = await addOnion(tor.control, {
      privateKey: made.privateKey,
      externalPort: 3457,
      localPort: 4000,
    });
    expect(after.serviceId).toBe(made.serviceId);
    await delOnion(tor.control, after.serviceId);
  });

  it("fails to start, naming the key file, when the onion key is missing", async () => {
    const basedir = join(dir.path, "node-nokey");
    const { port } = await makeNodeDir(basedir, { storage: ["enabled = false"] });
    const cfg = join(basedir, "tahoe.cfg");
    await writeFile(
      cfg,
      `${await readFile(cfg, "utf8")}\n[tor]\ncontrol.port = tcp:127.0.0.1:1\nonion = true\nonion.local_port = ${port}\nonion.external_port = 3457\nonion.private_key_file = private/tor_onion.privkey\n`,
    );
    const error = await createNode(basedir)
      .start()
      .catch((e) => e);
    expect(error.code).toBe("TAHOE_ERR_TOR_ONION_KEY");
    expect(error.message).toContain(join(basedir, "private", "tor_onion.privkey"));
  });
});
