import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Grid, startGrid, tahoeOk } from "../support/local-grid.js";
import { type BrowserSession, haveChromium, MISSING_CHROMIUM, openBrowser } from "./chromium.js";
import { checkPage as checkPageWith, recordTraffic, SIZES } from "./page-checks.js";

/**
 * Every page of a real node's web front (`tahoe run`, two storage nodes, k/happy/N = 1/2/2) in
 * Chromium, at a desktop (1280x900) and a phone (390x844) size: one screenshot each in
 * artifacts/browser, no sideways scrolling, and axe-core finds no serious or critical violation.
 * The tests run in order: the last one stops a storage node.
 */

const STORAGE = ["s1", "s2"];
const ENCODING = { k: 1, happy: 2, n: 2 };
const suite = haveChromium ? describe : describe.skip;
if (!haveChromium) console.warn(MISSING_CHROMIUM);

suite(haveChromium ? "the web front of a real node in Chromium" : MISSING_CHROMIUM, {
  timeout: 60_000,
}, () => {
  let grid: Grid;
  let browser: BrowserSession;
  let panel: string;
  /** Responses the browser got with a 4xx/5xx status, but for the ones a test asked for. */
  const failed: string[] = [];
  const posts: string[] = [];
  let cap = "";
  const content = Buffer.from("A file with a name, uploaded from the welcome page.\n".repeat(40));

  beforeAll(async () => {
    grid = await startGrid({ storage: STORAGE, ...ENCODING });
    browser = await openBrowser();
    recordTraffic(browser.page, failed, posts);
    await grid.waitForServers(
      (s) => s.filter((x) => x.connection.state === "connected").length === 2,
      "both servers connected",
    );
    panel = (await tahoeOk(["-d", grid.dirs.client!, "webopen", "--control-panel", "--print"]))
      .toString()
      .trim();
  }, 90_000);

  /** A failed response the test asked for on purpose leaves the list; it must be there. */
  function expected(entry: string): void {
    const at = failed.indexOf(entry);
    expect(at, `${entry} among ${failed.join(", ")}`).toBeGreaterThanOrEqual(0);
    failed.splice(at, 1);
  }

  afterAll(async () => {
    await browser?.close();
    await grid?.close();
  });

  /** The checks and screenshots every page gets (page-checks.ts); `name` names the screenshots. */
  const checkPage = (name: string) => checkPageWith(browser, "ui", name);

  it("shows the welcome page in the common design, with its stylesheet and icon from the node", async () => {
    const { page } = browser;
    const response = await page.goto(grid.nodeUrl);
    expect(response?.headers()["content-security-policy"]).toContain("style-src 'self'");
    expect(await page.locator("#summary-servers").textContent()).toBe("Servers: 2 of 2 connected");
    expect(await page.locator("#summary-uploads").textContent()).toBe("Uploads: ready");
    expect(await page.locator("#summary-tor").textContent()).toBe("Tor: not used");
    // Human time, not an ISO string.
    expect(await page.locator("time").first().textContent()).toMatch(
      /^\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d:\d\d UTC$/,
    );
    expect(await page.textContent("body")).not.toContain("read-only");
    const css = await page.evaluate("getComputedStyle(document.body).fontFamily");
    expect(css).toContain("system-ui");
    await checkPage("welcome");
    const icon = await page.request.get(`${grid.nodeUrl}favicon.ico`);
    expect(icon.status()).toBe(200);
  });

  it("uploads from the welcome page to a result page with the cap; a reload does not upload again", async () => {
    const { page } = browser;
    const response = await page.goto(grid.nodeUrl);
    expect(response?.headers()["content-security-policy"]).toContain("script-src 'self'; connect-src 'self'");
    await page.setInputFiles("#upload-file", { name: "notes.txt", mimeType: "text/plain", buffer: content });
    await Promise.all([page.waitForURL(/t=info/), page.click("#welcome-upload input[type=submit]")]);
    cap = (await page.locator("#file-cap").textContent()) ?? "";
    expect(cap).toMatch(new RegExp(`^URI:CHK:.*:1:2:${content.length}$`));
    expect(await page.locator("#upload-result").textContent()).toContain("Your file is stored");
    expect(await page.locator("h1").textContent()).toBe("File uploaded: notes.txt");
    await checkPage("file-info");

    // Sent by the page's script (with a progress bar), which then went to the result's own URL.
    expect(posts).toEqual([`xhr ${grid.nodeUrl}uri?t=upload&redirect_to_result=true`]);
    await page.reload();
    expect(await page.locator("#file-cap").textContent()).toBe(cap);
    expect(posts).toHaveLength(1);

    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-save")]);
    expect(download.suggestedFilename()).toBe("notes.txt");
    expect(readFileSync((await download.path())!)).toEqual(content);
  });

  it("downloads with the keyboard alone, under the name typed in", async () => {
    const { page } = browser;
    await page.goto(grid.nodeUrl);
    await page.locator("#download-cap").focus();
    await page.keyboard.type(cap);
    await page.keyboard.press("Tab");
    expect(await page.evaluate("document.activeElement.id")).toBe("download-name");
    await page.keyboard.type("again.txt");
    await page.keyboard.press("Tab");
    const [download] = await Promise.all([page.waitForEvent("download"), page.keyboard.press("Enter")]);
    expect(download.suggestedFilename()).toBe("again.txt");
    expect(readFileSync((await download.path())!)).toEqual(content);
  });

  it("lists the upload and the downloads on /status, and as Tahoe's JSON at /status?t=json", async () => {
    const { page } = browser;
    await page.goto(`${grid.nodeUrl}status`);
    const recent = page.locator("#recent-transfers tbody tr");
    await expect.poll(() => recent.count()).toBeGreaterThanOrEqual(3);
    expect(await page.locator("#recent-transfers").textContent()).toContain("notes.txt");
    await checkPage("transfers");
    const json = (await (await page.request.get(`${grid.nodeUrl}status?t=json`)).json()) as {
      active: unknown[];
      recent: Record<string, unknown>[];
    };
    expect(json.active).toEqual([]);
    const upload = json.recent.find((t) => t.type === "upload")!;
    expect(upload).toMatchObject({
      "total-size": content.length,
      status: "done",
      "progress-hash": 1,
      "progress-ciphertext": 1,
      "progress-encode-push": 1,
      name: "notes.txt",
      cap,
    });
    expect(
      json.recent.filter((t) => t.type === "download" && t.status === "done").length,
    ).toBeGreaterThanOrEqual(2);
  });

  it("shows an error page in the same design", async () => {
    const { page } = browser;
    const response = await page.goto(`${grid.nodeUrl}no-such-page`);
    expect(response?.status()).toBe(404);
    expect(await page.locator("h1").textContent()).toBe("Error 404");
    await checkPage("error-404");
    expected(`404 ${grid.nodeUrl}no-such-page`);
  });

  it("shows every control panel page in the design, with a way back to the welcome page", async () => {
    const { page } = browser;
    for (const [path, name] of [
      ["", "panel-servers"],
      ["encoding", "panel-encoding"],
      ["upload", "panel-upload"],
      ["simulator", "panel-simulator"],
    ] as const) {
      await page.goto(`${panel}${path}`);
      if (name === "panel-simulator") {
        await expect.poll(() => page.locator("#sim-app").isVisible()).toBe(true);
        // The result's share grid (coloured cells) is checked for contrast too.
        await page.click("#sim-run");
        await page.locator("#sim-outcome").waitFor();
      }
      expect(await page.locator('header.site a[href="/"]').count()).toBeGreaterThan(0);
      await checkPage(name);
    }
  });

  it("refuses an encoding placement cannot do, with the simulator's reason, and never says Saved.", async () => {
    const { page } = browser;
    await page.goto(`${panel}encoding`);
    await page.fill("#enc-happy", "3");
    await page.fill("#enc-n", "3");
    const [posted] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST"),
      page.click("#save-encoding"),
    ]);
    expect(posted.status()).toBe(400);
    expected(`400 ${panel}encoding`);
    const error = (await page.locator("#panel-error").textContent()) ?? "";
    // Placement's own words, as the simulator shows them for these values.
    expect(error).toContain("k = 1, happy = 3, N = 3 cannot be placed on this grid");
    expect(error).toContain("shares could be placed on only 2 server(s)");
    expect(error).toContain("This grid can place, for example, k = 1, happy = 2, N = 3.");
    expect(error).not.toContain("tahoe.cfg");
    expect(await page.locator("#panel-saved").count()).toBe(0);
    expect(await page.locator("#uploads-banner").count()).toBe(0);
    expect(await page.locator("#enc-happy").inputValue()).toBe("3");
    await browser.screenshot("ui-panel-encoding-refused-1280x900");

    await page.goto(`${panel}encoding`);
    expect(await page.locator("#enc-happy").inputValue()).toBe("2");
    await page.fill("#enc-k", "2");
    await page.fill("#enc-happy", "1");
    await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST"),
      page.click("#save-encoding"),
    ]);
    expected(`400 ${panel}encoding`);
    expect(await page.locator("#panel-error").textContent()).toContain("k = 1, happy = 1, N = 2");
  });

  it("uploads from the panel and shows the result after a redirect (a reload does not upload again)", async () => {
    const { page } = browser;
    await page.goto(`${panel}upload`);
    const before = posts.length;
    await page.setInputFiles("#upload-file", {
      name: "panel.bin",
      mimeType: "application/octet-stream",
      buffer: content.subarray(0, 500),
    });
    await Promise.all([page.waitForURL(/upload\?cap=/), page.click("#upload-submit")]);
    expect(await page.locator("#upload-cap").textContent()).toMatch(/^URI:CHK:.*:500$/);
    await page.reload();
    expect(posts.length).toBe(before + 1);
    expect(await page.locator("#upload-cap").textContent()).toMatch(/^URI:CHK:.*:500$/);
  });

  it("shows the uploads banner on the simulator page once uploads cannot start", async () => {
    const { page } = browser;
    await grid.stop("s2");
    await grid.waitForServers(
      (s) => s.filter((x) => x.connection.state === "connected").length === 1,
      "s2 gone",
    );
    await expect
      .poll(async () => {
        await page.goto(`${panel}simulator`);
        return page.locator("#uploads-banner").count();
      })
      .toBe(1);
    expect(await page.locator("#summary-uploads").textContent()).toContain("not ready");
    await browser.screenshot("ui-panel-simulator-banner-1280x900");
    // The stopped server's connection error stays in its cell: every "required" box is on screen.
    await page.goto(panel);
    for (const size of SIZES) {
      await page.setViewportSize(size);
      for (const box of await page.locator("input[name=required]").all()) {
        const at = (await box.boundingBox())!;
        expect(at.x + at.width).toBeLessThanOrEqual(size.width);
      }
      await browser.screenshot(`ui-panel-servers-one-down-${size.width}x${size.height}`);
    }
    await page.setViewportSize(SIZES[0]);
  });

  it("asked for nothing off this machine, and no page or resource failed (no favicon 404)", () => {
    expect(browser.blocked).toEqual([]);
    expect(failed).toEqual([]);
    // Chromium logs each failed response too; `failed` has those, with their URLs.
    expect(browser.errors.filter((e) => !e.startsWith("Failed to load resource:"))).toEqual([]);
  });
});
