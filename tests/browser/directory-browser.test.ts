import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Grid, startGrid, tahoeOk } from "../support/local-grid.js";
import { type BrowserSession, haveChromium, MISSING_CHROMIUM, openBrowser } from "./chromium.js";
import { checkPage as checkPageWith, recordTraffic, seriousViolations } from "./page-checks.js";

/**
 * The directory pages of a real node (`tahoe run`, two storage nodes, k/happy/N = 1/2/2) in
 * Chromium, used as a person would: open an alias from the welcome page, upload two files with a
 * progress bar each, drop a file, make a directory, rename in place, delete after the dialog, copy
 * caps, all of it once more with the keyboard alone. Every page is checked at 1280x900 and
 * 390x844 (no sideways scrolling, axe-core finds nothing serious or critical) and screenshotted
 * into artifacts/browser. The tests run in order, each on what the one before left.
 */

const suite = haveChromium ? describe : describe.skip;
if (!haveChromium) console.warn(MISSING_CHROMIUM);

suite(haveChromium ? "directory pages of a real node in Chromium" : MISSING_CHROMIUM, {
  timeout: 90_000,
}, () => {
  let grid: Grid;
  let browser: BrowserSession;
  /** The alias's directory page (…/uri/URI%3ADIR2%3A…/). */
  let dirUrl = "";
  const failed: string[] = [];
  const posts: string[] = [];
  const alpha = Buffer.from("alpha file, uploaded with a progress bar\n".repeat(8000));
  const beta = Buffer.alloc(150_000, 7);

  beforeAll(async () => {
    grid = await startGrid({ storage: ["s1", "s2"], k: 1, happy: 2, n: 2 });
    browser = await openBrowser();
    await browser.context.grantPermissions(["clipboard-read", "clipboard-write"], {
      origin: new URL(grid.nodeUrl).origin,
    });
    recordTraffic(browser.page, failed, posts);
    await grid.waitForServers(
      (s) => s.filter((x) => x.connection.state === "connected").length === 2,
      "both servers connected",
    );
    await tahoeOk(["-d", grid.dirs.client!, "create-alias", "docs"]);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await grid?.close();
  });

  /** The checks and screenshots every page gets (page-checks.ts); `name` names the screenshots. */
  const checkPage = (name: string) => checkPageWith(browser, "dir", name);

  const rows = () =>
    browser.page.evaluate("[...document.querySelectorAll('#listing tbody tr')].map((r) => r.dataset.name)");

  it("opens the node's alias from the welcome page", async () => {
    const { page } = browser;
    await page.goto(grid.nodeUrl);
    const link = page.locator("#aliases a", { hasText: "docs:" });
    await Promise.all([page.waitForURL(/\/uri\/URI%3ADIR2%3A[^/]+\/$/), link.click()]);
    dirUrl = page.url();
    expect(await page.locator("h1").textContent()).toBe("Directory: root");
    expect(await page.locator("#empty-directory").count()).toBe(1);
    await checkPage("empty");
  });

  it("uploads two chosen files with a progress bar each, and both appear with their caps", async () => {
    const { page } = browser;
    await page.goto(dirUrl);
    // The bars live until the page moves on to the result: count them as they appear.
    await page.evaluate(`new MutationObserver(() => sessionStorage.setItem("bars",
      String(Math.max(Number(sessionStorage.getItem("bars") || 0), document.querySelectorAll("#upload-list progress").length)))
    ).observe(document.getElementById("upload-list"), { childList: true, subtree: true })`);
    await page.setInputFiles("#upload-files", [
      { name: "alpha.txt", mimeType: "text/plain", buffer: alpha },
      { name: "beta.bin", mimeType: "application/octet-stream", buffer: beta },
    ]);
    await Promise.all([page.waitForURL(/done=uploaded/), page.click("#dir-upload button[type=submit]")]);
    expect(await page.evaluate("sessionStorage.getItem('bars')")).toBe("2");
    // One XHR per file from the page's script, not the form's own post.
    expect(posts).toEqual([`xhr ${dirUrl}?t=upload`, `xhr ${dirUrl}?t=upload`]);
    expect(await rows()).toEqual(["alpha.txt", "beta.bin"]);
    const notice = (await page.locator("#notice").textContent()) ?? "";
    expect(notice).toContain("Uploaded 2 files");
    expect(notice).toMatch(new RegExp(`alpha.txt: URI:CHK:\\S+:1:2:${alpha.length}`));
    expect(notice).toMatch(new RegExp(`beta.bin: URI:CHK:\\S+:1:2:${beta.length}`));
    // The size shows in human units, the exact bytes in its title.
    const size = page.locator('tr[data-name="alpha.txt"] td[data-label="Size"] span');
    expect(await size.getAttribute("title")).toBe(`${alpha.length.toLocaleString("en-US")} bytes`);
    // Downloads keep the real name.
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.click('tr[data-name="alpha.txt"] a[download]'),
    ]);
    expect(download.suggestedFilename()).toBe("alpha.txt");
    expect(readFileSync((await download.path())!)).toEqual(alpha);
  });

  it("uploads a dropped file", async () => {
    const { page } = browser;
    await page.goto(dirUrl);
    expect(await page.locator("#drop-hint").isVisible()).toBe(true);
    // Made in the page (tests/ has no DOM types): what a drag from the file manager carries.
    const dropped = await page.evaluateHandle(`(() => {
      const data = new DataTransfer();
      data.items.add(new File(["dropped on the page\\n"], "dropped.txt", { type: "text/plain" }));
      return data;
    })()`);
    await Promise.all([
      page.waitForURL(/done=uploaded&name=dropped.txt/),
      page.dispatchEvent("#drop-zone", "drop", { dataTransfer: dropped }),
    ]);
    expect(await rows()).toEqual(["alpha.txt", "beta.bin", "dropped.txt"]);
  });

  it("makes a directory with the form, and shows the listing at both sizes", async () => {
    const { page } = browser;
    await page.goto(dirUrl);
    await page.fill("#mkdir-name", "photos");
    await Promise.all([page.waitForURL(/done=created&name=photos/), page.click("#dir-mkdir button")]);
    expect(await page.locator("#notice").textContent()).toMatch(
      /Created the directory:\s*photos: URI:DIR2-RO:/,
    );
    expect(await rows()).toEqual(["photos", "alpha.txt", "beta.bin", "dropped.txt"]);
    await checkPage("listing");
    // Sorting is a link in the column header, done by the node; a second click turns the order round.
    await Promise.all([page.waitForURL(/sort=size$/), page.click('th a[href="?sort=size"]')]);
    expect(await rows()).toEqual(["photos", "dropped.txt", "beta.bin", "alpha.txt"]);
    await Promise.all([page.waitForURL(/sort=-size$/), page.click('th a[href="?sort=-size"]')]);
    expect(await rows()).toEqual(["photos", "alpha.txt", "beta.bin", "dropped.txt"]);
    // Into the new directory and back by the breadcrumbs.
    await Promise.all([page.waitForURL(/\/photos\/$/), page.click('a.entry-name[href$="/photos/"]')]);
    expect(await page.locator(".breadcrumbs a").allTextContents()).toEqual(["root", "photos"]);
    await Promise.all([page.waitForURL(dirUrl), page.click('.breadcrumbs a:text("root")')]);
  });

  it("renames in place", async () => {
    const { page } = browser;
    await page.goto(dirUrl);
    await page.click('a.dir-rename[data-name="beta.bin"]');
    const input = page.locator('tr[data-name="beta.bin"] input[name="to_name"]');
    expect(
      await page.evaluate(`document.activeElement.matches('tr[data-name="beta.bin"] input[name="to_name"]')`),
    ).toBe(true);
    await input.fill("gamma.bin");
    await Promise.all([page.waitForURL(/done=renamed/), input.press("Enter")]);
    expect(await page.locator("#notice").textContent()).toContain("Renamed beta.bin to");
    expect(await rows()).toEqual(["photos", "alpha.txt", "dropped.txt", "gamma.bin"]);
    // The page for a browser without JavaScript.
    await page.goto(`${dirUrl}?t=rename-form&name=gamma.bin`);
    expect(await page.locator("#rename-to").inputValue()).toBe("gamma.bin");
    await checkPage("rename");
  });

  it("deletes only after the confirmation dialog", async () => {
    const { page } = browser;
    await page.goto(dirUrl);
    const dialogOpen = () => page.evaluate("document.getElementById('delete-dialog').open");
    await page.click('a.dir-delete[data-name="gamma.bin"]');
    expect(await dialogOpen()).toBe(true);
    expect(await page.locator("#delete-dialog .delete-name").textContent()).toBe("gamma.bin");
    expect(await seriousViolations(page)).toEqual([]);
    await browser.screenshot("dir-delete-dialog-1280x900");
    await page.click("#delete-dialog button.secondary");
    expect(await dialogOpen()).toBe(false);
    expect(await rows()).toContain("gamma.bin");
    await page.click('a.dir-delete[data-name="gamma.bin"]');
    await Promise.all([page.waitForURL(/done=deleted/), page.click("#delete-dialog button.danger")]);
    expect(await page.locator("#notice").textContent()).toMatch(/Deleted gamma.bin .*URI:CHK:/s);
    expect(await rows()).toEqual(["photos", "alpha.txt", "dropped.txt"]);
    // The confirmation page a browser without JavaScript gets.
    await page.goto(`${dirUrl}?t=confirm-delete&name=alpha.txt`);
    expect(await page.locator("h1").textContent()).toBe("Delete alpha.txt?");
    await checkPage("confirm-delete");
  });

  it("copies a read cap, and a write cap only after 'Show write cap'", async () => {
    const { page } = browser;
    await page.goto(dirUrl);
    const button = page.locator('tr[data-name="alpha.txt"] button.copy-cap').first();
    const readCap = (await button.getAttribute("data-cap")) ?? "";
    expect(readCap).toMatch(/^URI:CHK:/);
    await button.click();
    expect(await page.evaluate("navigator.clipboard.readText()")).toBe(readCap);
    await expect.poll(() => button.textContent()).toBe("Copied");
    const writeCap = page.locator(".dir-caps details.write-cap code");
    expect(await writeCap.isVisible()).toBe(false);
    await page.click(".dir-caps details.write-cap summary");
    expect(await writeCap.isVisible()).toBe(true);
    await page.click(".dir-caps details.write-cap button.copy-cap");
    expect(await page.evaluate("navigator.clipboard.readText()")).toBe(
      decodeURIComponent(dirUrl.split("/uri/")[1]!.slice(0, -1)),
    );
  });

  it("does it all with the keyboard alone: make a directory, then delete it through the dialog", async () => {
    const { page } = browser;
    await page.goto(dirUrl);
    /** Tabs until `test` holds for the focused element, as a keyboard user would. */
    async function tabTo(test: string, what: string): Promise<void> {
      for (let i = 0; i < 200; i++) {
        await page.keyboard.press("Tab");
        if (await page.evaluate(`(() => { const e = document.activeElement; return ${test}; })()`)) return;
      }
      throw new Error(`Tab never reached ${what}`);
    }
    await tabTo("e.id === 'mkdir-name'", "the mkdir name field");
    await page.keyboard.type("by-keyboard");
    await Promise.all([page.waitForURL(/done=created&name=by-keyboard/), page.keyboard.press("Enter")]);
    expect(await rows()).toContain("by-keyboard");
    await tabTo(
      "e.matches('a.dir-delete') && e.dataset.name === 'by-keyboard'",
      "the new directory's Delete",
    );
    await page.keyboard.press("Enter");
    expect(await page.evaluate("document.activeElement.matches('#delete-dialog button.secondary')")).toBe(
      true,
    );
    await page.keyboard.press("Shift+Tab");
    expect(await page.evaluate("document.activeElement.matches('#delete-dialog button.danger')")).toBe(true);
    await Promise.all([page.waitForURL(/done=deleted&name=by-keyboard/), page.keyboard.press("Enter")]);
    expect(await rows()).not.toContain("by-keyboard");
  });

  it("opens a read cap from the welcome page's form: a read-only page with no write actions", async () => {
    const { page } = browser;
    const readCap = (await (await page.request.get(`${dirUrl}?t=readonly-uri`)).text()).trim();
    expect(readCap).toMatch(/^URI:DIR2-RO:/);
    await page.goto(grid.nodeUrl);
    await page.fill("#open-cap-input", readCap);
    await Promise.all([page.waitForURL(/URI%3ADIR2-RO%3A/), page.press("#open-cap-input", "Enter")]);
    expect(await page.locator("#read-only").isVisible()).toBe(true);
    expect(await page.locator("main form").count()).toBe(0);
    expect(await page.locator("a.dir-delete, a.dir-rename, details.write-cap").count()).toBe(0);
    expect(await rows()).toEqual(["photos", "alpha.txt", "dropped.txt"]);
    await checkPage("read-only");
  });

  it("works without JavaScript: plain forms, the rename and confirmation pages, 303s back with the caps", async () => {
    const { page } = browser;
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send("Emulation.setScriptExecutionDisabled", { value: true });
    try {
      posts.length = 0;
      await page.goto(dirUrl);
      expect(await page.locator("#drop-hint").isVisible()).toBe(false);
      expect(await page.locator("button.copy-cap").first().isVisible()).toBe(false);
      await page.setInputFiles("#upload-files", [
        { name: "plain-1.txt", mimeType: "text/plain", buffer: Buffer.from("one\n") },
        { name: "plain-2.txt", mimeType: "text/plain", buffer: Buffer.from("two\n") },
      ]);
      await Promise.all([
        page.waitForURL(/done=uploaded&name=plain-1.txt%2Fplain-2.txt/),
        page.click("#dir-upload button[type=submit]"),
      ]);
      // The form itself posted (a document, not an XHR), and the 303 led back here.
      expect(posts).toEqual([`document ${dirUrl}?t=upload`]);
      expect(await page.locator("#notice").textContent()).toMatch(
        /Uploaded 2 files.*plain-1.txt: URI:LIT:.*plain-2.txt: URI:LIT:/s,
      );
      await Promise.all([
        page.waitForURL(/t=rename-form/),
        page.click('a.dir-rename[data-name="plain-2.txt"]'),
      ]);
      await page.fill("#rename-to", "plain-two.txt");
      await Promise.all([page.waitForURL(/done=renamed/), page.click("#rename button[type=submit]")]);
      await Promise.all([
        page.waitForURL(/t=confirm-delete/),
        page.click('a.dir-delete[data-name="plain-1.txt"]'),
      ]);
      await Promise.all([page.waitForURL(/done=deleted/), page.click("#confirm-delete button[type=submit]")]);
      expect(await page.locator("#notice").textContent()).toMatch(/Deleted plain-1.txt .*URI:LIT:/s);
      expect(await rows()).toEqual(["photos", "alpha.txt", "dropped.txt", "plain-two.txt"]);
    } finally {
      await cdp.send("Emulation.setScriptExecutionDisabled", { value: false });
      await cdp.detach();
    }
  });

  it("names the servers each transfer used on /status", async () => {
    const { page } = browser;
    await page.goto(`${grid.nodeUrl}status`);
    const upload = page.locator("#recent-transfers tbody tr", { hasText: "alpha.txt" }).first();
    const servers = (await upload.locator('td[data-label="Servers used"]').textContent()) ?? "";
    expect(servers.split(", ").sort()).toEqual(["s1", "s2"]);
    const download = page
      .locator("#recent-transfers tbody tr")
      .filter({ hasText: "URI:CHK:" })
      .filter({ hasText: "download" })
      .first();
    expect(await download.locator('td[data-label="Servers used"]').textContent()).toMatch(
      /^s[12](, s[12])?$/,
    );
  });

  it("asked for nothing off this machine, and no page or resource failed", () => {
    expect(browser.blocked).toEqual([]);
    expect(failed).toEqual([]);
    expect(browser.errors.filter((e) => !e.startsWith("Failed to load resource:"))).toEqual([]);
  });
});
