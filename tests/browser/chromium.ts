import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

/**
 * Debian's chromium driven by playwright-core, for the web UI tests. Nothing may leave this
 * machine: every request a page makes is logged, and any that is not for http://127.0.0.1 is
 * aborted and recorded, so a test can assert that the list is empty.
 */

export const CHROMIUM = "/usr/bin/chromium";
export const haveChromium = existsSync(CHROMIUM);
export const MISSING_CHROMIUM = `browser tests SKIPPED: ${CHROMIUM} is missing (Debian package "chromium"; .ci/run installs it)`;

export const ARTIFACTS = join(import.meta.dirname, "../../artifacts/browser");

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  /** Every URL a page asked for, in order. */
  requests: string[];
  /** Requests for anything but http://127.0.0.1, aborted. */
  blocked: string[];
  /** Console errors and uncaught page errors (a CSP violation shows here). */
  errors: string[];
  /** Saves artifacts/browser/NAME.png and returns its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

function isLocal(url: string): boolean {
  return url.startsWith("http://127.0.0.1:") || url.startsWith("http://127.0.0.1/");
}

export async function openBrowser(): Promise<BrowserSession> {
  const profile = await mkdtemp(join(tmpdir(), "lafs-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
    serviceWorkers: "block",
  });
  const requests: string[] = [];
  const blocked: string[] = [];
  const errors: string[] = [];
  await context.route("**", async (route) => {
    const url = route.request().url();
    requests.push(url);
    if (isLocal(url)) return route.continue();
    blocked.push(url);
    return route.abort("blockedbyclient");
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  return {
    context,
    page,
    requests,
    blocked,
    errors,
    async screenshot(name) {
      await mkdir(ARTIFACTS, { recursive: true });
      const path = join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
