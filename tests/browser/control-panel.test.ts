import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { base32Decode } from "@lafs/crypto";
import type { SimulatorData } from "@lafs/web";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// The root package does not depend on @lafs/placement: the built package, as simulator.test.ts does.
import { permutationSeedFor, placeShares } from "../../packages/placement/dist/index.js";
import { type Grid, startGrid, tahoe, tahoeOk } from "../support/local-grid.js";
import { type BrowserSession, haveChromium, MISSING_CHROMIUM, openBrowser } from "./chromium.js";

/**
 * The control panel of a real client node (`tahoe run`, four storage nodes, k/happy/N = 2/3/4),
 * opened in Chromium through the URL `tahoe webopen --control-panel --print` gives. The tests run in
 * order: the last one stops a storage node.
 */

const STORAGE = ["s1", "s2", "s3", "s4"];
const ENCODING = { k: 2, happy: 3, n: 4 };

const suite = haveChromium ? describe : describe.skip;
if (!haveChromium) console.warn(MISSING_CHROMIUM);

/** The ids a servers-allowed / servers-required file lists, in order (comments skipped). */
async function listed(grid: Grid, file: string): Promise<string[]> {
  const text = await readFile(join(grid.dirs.client!, file), "utf8").catch(() => "");
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => line.split(/\s+/)[0]!);
}

async function panelUrl(grid: Grid): Promise<string> {
  const url = (await tahoeOk(["-d", grid.dirs.client!, "webopen", "--control-panel", "--print"]))
    .toString()
    .trim();
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/control\/[^/]{40,}\/$/);
  return url;
}

/** Controls (hidden inputs aside) that have no accessible name from a label, aria-label or their own text. */
function unlabelledControls(page: Page): Promise<string[]> {
  return page.locator("input, select, textarea, button").evaluateAll((controls) =>
    controls
      .filter((control) => {
        // tests/ compiles without the DOM library: the few properties used, by shape.
        const field = control as unknown as {
          labels?: Iterable<{ textContent: string | null }> | null;
          value?: string;
        };
        const type = control.getAttribute("type") ?? "";
        if (control.tagName === "INPUT" && type === "hidden") return false;
        const own =
          control.tagName === "BUTTON"
            ? control.textContent
            : control.tagName === "INPUT" && ["submit", "button", "reset"].includes(type)
              ? (field.value ?? "")
              : "";
        const labels = [...(field.labels ?? [])].map((l) => l.textContent).join(" ");
        const name = `${own ?? ""} ${labels} ${control.getAttribute("aria-label") ?? ""}`;
        return name.trim() === "";
      })
      .map((control) => control.outerHTML),
  );
}

async function tabTo(page: Page, selector: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press("Tab");
    const here = await page
      .locator(selector)
      .evaluateAll((els) => els.some((el) => el === el.ownerDocument.activeElement));
    if (here) return;
  }
  throw new Error(`Tab never reached ${selector}`);
}

suite(haveChromium ? "the control panel of a real node in Chromium" : MISSING_CHROMIUM, {
  timeout: 30_000,
}, () => {
  let grid: Grid;
  let browser: BrowserSession;
  let url: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    // One after the other: if either fails, afterAll still has the other to close.
    grid = await startGrid({ storage: STORAGE, ...ENCODING });
    browser = await openBrowser();
    for (const name of STORAGE) ids[name] = await grid.idOf(name);
    url = await panelUrl(grid);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await grid?.close();
  });

  const allowedBox = (name: string) => `input[name=allowed][value="${ids[name]}"]`;
  const requiredBox = (name: string) => `input[name=required][value="${ids[name]}"]`;

  async function save(page: Page): Promise<void> {
    const [posted] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST"),
      page.click("#save-servers"),
    ]);
    if (posted.status() !== 303)
      throw new Error(`saving answered ${posted.status()}: ${await posted.text()}`);
    await page.waitForURL(/\?saved=1$/);
    expect(await page.locator("#panel-saved").textContent()).toBe("Saved.");
  }

  it("opens every page through webopen's URL, with labels for every control", async () => {
    const { page } = browser;
    const response = await page.goto(url);
    expect(response?.status()).toBe(200);
    const headers = response!.headers();
    expect(headers["referrer-policy"]).toBe("no-referrer");
    expect(headers["cache-control"]).toBe("no-store");
    expect(headers["x-frame-options"]).toBe("DENY");
    expect(headers["set-cookie"]).toBeUndefined();
    for (const name of STORAGE) expect(await page.locator(allowedBox(name)).isChecked()).toBe(true);
    expect(await unlabelledControls(page)).toEqual([]);
    await browser.screenshot("panel-servers");

    for (const [link, shot, ready] of [
      ["Encoding", "panel-encoding", "#encoding-form"],
      ["Upload", "panel-upload", "#upload-form"],
      ["Simulator", "panel-simulator", "#sim-run"],
    ] as const) {
      await page.goto(url);
      await page.getByRole("link", { name: link, exact: true }).click();
      await page.locator(ready).waitFor();
      expect(await unlabelledControls(page)).toEqual([]);
      await browser.screenshot(shot);
    }
    await page.goto(`${url}encoding`);
    expect(await page.getByLabel("shares.needed (k)").inputValue()).toBe(String(ENCODING.k));
    expect(await page.getByLabel("shares.happy").inputValue()).toBe(String(ENCODING.happy));
    expect(await page.getByLabel("shares.total (N)").inputValue()).toBe(String(ENCODING.n));

    await page.goto(grid.nodeUrl);
    expect(await page.textContent("body")).toContain("tahoe webopen --control-panel");
    await browser.screenshot("welcome");
  });

  it("rewrites servers-allowed and servers-required when boxes are ticked and saved", async () => {
    const { page } = browser;
    await page.goto(url);
    await page.uncheck(allowedBox("s1"));
    await save(page);
    expect((await listed(grid, "servers-allowed")).sort()).toEqual([ids.s2, ids.s3, ids.s4].sort());
    // A person can read the file: each id is followed by the server's nickname.
    expect(await readFile(join(grid.dirs.client!, "servers-allowed"), "utf8")).toContain(`${ids.s2} s2`);
    expect(await page.locator(allowedBox("s1")).isChecked()).toBe(false);

    await page.check(allowedBox("s1"));
    await save(page);
    expect((await listed(grid, "servers-allowed")).sort()).toEqual(STORAGE.map((s) => ids[s]).sort());

    await page.check(requiredBox("s3"));
    await save(page);
    expect(await listed(grid, "servers-required")).toEqual([ids.s3]);
    expect(await page.locator(requiredBox("s3")).isChecked()).toBe(true);
  });

  it("saves with the keyboard alone: Tab to a checkbox, Space, Tab to Save, Enter", async () => {
    const { page } = browser;
    await page.goto(url);
    await tabTo(page, requiredBox("s3"));
    await page.keyboard.press("Space");
    expect(await page.locator(requiredBox("s3")).isChecked()).toBe(false);
    await tabTo(page, "#save-servers");
    await Promise.all([page.waitForURL(/\?saved=1$/), page.keyboard.press("Enter")]);
    expect(await listed(grid, "servers-required")).toEqual([]);
  });

  it("runs the simulator on the node's grid and shows placement's answer", async () => {
    const { page } = browser;
    await page.goto(url);
    await page.getByRole("link", { name: "Simulator", exact: true }).click();
    await expect.poll(() => page.locator("#sim-app").isVisible()).toBe(true);
    const data = JSON.parse((await page.locator("#simulator-data").textContent())!) as SimulatorData;
    expect({ k: data.k, happy: data.happy, n: data.n }).toEqual(ENCODING);
    expect(data.servers.map((s) => s.nickname).sort()).toEqual(STORAGE);
    expect(data.servers.every((s) => s.connected && s.allowed && !s.required)).toBe(true);

    await page.click("#sim-run");
    await page.locator("#sim-outcome").waitFor();
    const si = await page.inputValue("#sim-si");
    const want = placeShares({
      storageIndex: base32Decode(si),
      ...ENCODING,
      servers: data.servers.map((s) => ({
        id: s.id,
        nickname: s.nickname,
        permutationSeed: permutationSeedFor(s.id, s.permutationSeed),
        connected: s.connected,
        writable: !s.full,
        existingShares: [],
        allowed: s.allowed,
        required: s.required,
      })),
    });
    expect(want.ok).toBe(true);
    const rows = await page.locator("#sim-placement tbody tr").evaluateAll((trs) =>
      trs.map((tr) => ({
        id: tr.getAttribute("data-server-id"),
        newShares: tr.querySelector(".sim-new-shares")?.textContent ?? "",
      })),
    );
    expect(rows).toEqual(want.servers.map((s) => ({ id: s.id, newShares: s.newShares.join(", ") })));
    expect(Number(await page.locator("#sim-happiness").getAttribute("data-happiness"))).toBe(want.happiness);
    expect(await page.locator("#sim-outcome").getAttribute("data-ok")).toBe("true");
    await browser.screenshot("panel-simulator-run");
  });

  it("gives 404 for the old URL once webopen has made a new one", async () => {
    const { page } = browser;
    const old = url;
    url = await panelUrl(grid);
    expect(url).not.toBe(old);
    expect((await page.goto(old))?.status()).toBe(404);
    expect((await page.goto(`${old}encoding`))?.status()).toBe(404);
    expect((await page.goto(url))?.status()).toBe(200);
    await page.locator("#servers-form").waitFor();
  });

  it("disables uploads while a required server is stopped: banner, panel upload and tahoe put", async () => {
    const { page } = browser;
    await page.goto(url);
    await page.check(requiredBox("s4"));
    await save(page);
    expect(await listed(grid, "servers-required")).toEqual([ids.s4]);

    await grid.stop("s4");
    await grid.waitForServers(
      (list) => list.some((s) => s.serverId === ids.s4 && s.connection.state !== "connected"),
      "s4 to be seen disconnected",
    );
    const words = "required but not connected";
    // The node reads the flag files in the background of a status request: the next page has them.
    await expect
      .poll(async () => {
        await page.goto(url);
        return (await page.locator("#uploads-banner").count()) > 0;
      })
      .toBe(true);
    const banner = (await page.locator("#uploads-banner").textContent())!;
    expect(banner).toContain("uploads disabled:");
    expect(banner).toContain(`'s4'`);
    expect(banner).toContain(words);
    await browser.screenshot("panel-uploads-disabled");

    await page.goto(grid.nodeUrl);
    expect(await page.locator("#uploads-banner").textContent()).toContain(banner);
    await browser.screenshot("welcome-uploads-disabled");

    await page.goto(`${url}upload`);
    expect(await page.locator("#uploads-banner").textContent()).toBe(banner);
    await page.setInputFiles("#upload-file", {
      name: "refused.bin",
      mimeType: "application/octet-stream",
      buffer: randomBytes(5000),
    });
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST"),
      page.click("#upload-submit"),
    ]);
    expect(answer.status()).toBe(503);
    await page.waitForLoadState();
    const shown = await page.textContent("body");
    expect(shown).toContain("TAHOE_ERR_PLACEMENT_REQUIRED_NOT_CONNECTED");
    expect(shown).toContain(banner);
    await browser.screenshot("panel-upload-refused");

    const input = join(grid.root, "refused.bin");
    await writeFile(input, randomBytes(5000));
    const put = await tahoe(["-d", grid.dirs.client!, "put", input]);
    expect(put.code).toBe(1);
    expect(put.stderr).toContain("TAHOE_ERR_PLACEMENT_REQUIRED_NOT_CONNECTED");
    expect(put.stderr).toContain(banner);
  });

  it("sent no request anywhere but 127.0.0.1, and no page hit a CSP error", () => {
    expect(browser.blocked).toEqual([]);
    expect(browser.requests.length).toBeGreaterThan(0);
    expect(browser.requests.filter((r) => !r.startsWith("http://127.0.0.1:"))).toEqual([]);
    // The 404s and the refused upload are logged as failed loads; anything else is a real error.
    expect(browser.errors.filter((e) => !e.startsWith("Failed to load resource"))).toEqual([]);
  });
});
