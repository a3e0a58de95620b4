import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { base32Encode } from "@lafs/crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ensureApiAuthToken,
  loadTahoeCfgText,
  parseControlPanelState,
  parseIdleTimeout,
  readApiAuthToken,
  readControlPanelState,
  readWebSecret,
  retireWebSecret,
  rotateWebSecret,
  writeControlPanelState,
} from "../src/index.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "lafs-panel-state-"));
});
afterEach(() => rm(root, { recursive: true, force: true }));

const id = () => `v0-${base32Encode(randomBytes(32))}`;

describe("control-panel.json", () => {
  it("round-trips through write and read", async () => {
    const state = {
      version: 1 as const,
      newServersAllowed: false,
      decided: [id()],
      encoding: { k: 2, happy: 3, n: 4 },
    };
    await writeControlPanelState(root, state);
    expect(await readControlPanelState(root)).toEqual({ state, errors: [] });
  });

  it("reads an absent file as no state", async () => {
    expect(await readControlPanelState(root)).toEqual({ state: undefined, errors: [] });
  });

  it("names the line of a JSON syntax error and of a bad key", () => {
    const syntax = parseControlPanelState('{\n  "version": 1,\n  oops\n}', "control-panel.json");
    expect(syntax.state).toBeUndefined();
    expect(syntax.errors[0]).toMatchObject({ file: "control-panel.json", line: 3 });
    const bad = parseControlPanelState(
      '{\n  "version": 1,\n  "encoding": {"k": 5, "happy": 3, "n": 10}\n}',
      "control-panel.json",
    );
    expect(bad.errors).toEqual([
      expect.objectContaining({
        line: 3,
        key: "encoding",
        message: expect.stringContaining("k (shares.needed)"),
      }),
    ]);
    const unknown = parseControlPanelState('{"version": 1, "colour": "red"}', "control-panel.json");
    expect(unknown.errors[0]?.message).toMatch(/colour/);
  });

  it("refuses to overwrite a broken file, which is left as it was", async () => {
    const path = join(root, "control-panel.json");
    await writeFile(path, "{ broken");
    await expect(writeControlPanelState(root, { version: 1, newServersAllowed: true })).rejects.toMatchObject(
      {
        code: "TAHOE_ERR_CONFIG_CONTROL_PANEL",
        message: expect.stringContaining("not saved"),
      },
    );
    expect(await readFile(path, "utf8")).toBe("{ broken");
  });
});

describe("private/web.secret and private/api_auth_token", () => {
  it("rotates to a fresh 43-character base64url secret, mode 0600, and retires only the current one", async () => {
    expect(await readWebSecret(root)).toBeUndefined();
    const first = await rotateWebSecret(root);
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await stat(join(root, "private", "web.secret"))).mode & 0o777).toBe(0o600);
    const second = await rotateWebSecret(root);
    expect(second).not.toBe(first);
    expect(await readWebSecret(root)).toBe(second);
    expect(await retireWebSecret(root, first)).toBe(false);
    expect(await retireWebSecret(root, second)).toBe(true);
    expect(await readWebSecret(root)).toBeUndefined();
  });

  it("creates the API token once and keeps it", async () => {
    expect(await readApiAuthToken(root)).toBeUndefined();
    const token = await ensureApiAuthToken(root);
    expect(await ensureApiAuthToken(root)).toBe(token);
    expect((await stat(join(root, "private", "api_auth_token"))).mode & 0o777).toBe(0o600);
  });
});

describe("the control panel's tahoe.cfg keys", () => {
  it("parses idle timeouts in seconds, minutes, hours and days", () => {
    expect(["900", "15m", "2h", "1d", "30s"].map(parseIdleTimeout)).toEqual([900, 900, 7200, 86_400, 30]);
    expect(() => parseIdleTimeout("soon")).toThrow(/not an idle timeout/);
    expect(() => parseIdleTimeout("0")).toThrow();
  });

  it("reads new-servers, web.control-panel.idle-timeout and web.upload-authority", () => {
    const loaded = loadTahoeCfgText(
      "[node]\nweb.control-panel.idle-timeout = 15m\nweb.upload-authority = private\n[client]\nnew-servers = not-allowed\n",
      { file: "tahoe.cfg" },
    );
    expect(loaded.errors).toEqual([]);
    expect(loaded.config?.node.webControlPanelIdleTimeout).toBe(900);
    expect(loaded.config?.node.webUploadAuthority).toBe("private");
    expect(loaded.config?.client.newServers).toBe("not-allowed");
    const defaults = loadTahoeCfgText("[node]\n", { file: "tahoe.cfg" });
    expect(defaults.config?.node.webUploadAuthority).toBe("anyone");
    expect(defaults.config?.client.newServers).toBeUndefined();
    const bad = loadTahoeCfgText("[client]\nnew-servers = maybe\n", { file: "tahoe.cfg" });
    expect(bad.errors[0]).toMatchObject({ line: 2, key: "new-servers" });
  });
});
