import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Page } from "playwright-core";
import { expect } from "vitest";
import type { BrowserSession } from "./chromium.js";

/** The two sizes every page is checked at: a desktop and a phone. */
export const SIZES = [
  { width: 1280, height: 900 },
  { width: 390, height: 844 },
] as const;

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/** axe-core's serious and critical findings on the page as it is now, with what they hit. */
export async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, so the page's CSP (no script but 'self') stays as it is.
  await page.evaluate(AXE_SOURCE);
  const violations = (await page.evaluate(
    "axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)",
  )) as AxeViolation[];
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(v.nodes.map((n) => n.target))}`);
}

/** How far the page is wider than the window (0 or less: no sideways scrolling), and what sticks out. */
export async function overflowOf(page: Page): Promise<{ overflow: number; wide: string }> {
  const overflow = (await page.evaluate(
    "document.documentElement.scrollWidth - window.innerWidth",
  )) as number;
  const wide =
    overflow <= 0
      ? ""
      : ((await page.evaluate(
          "[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1).slice(-3).map((e) => e.outerHTML.slice(0, 120)).join(' | ')",
        )) as string);
  return { overflow, wide };
}

/**
 * The checks every page of the web front gets, at both sizes and in the dark scheme: the common
 * design (viewport meta, the site header's status summary), no sideways scrolling, no serious axe
 * finding, and a screenshot each, named `PREFIX-NAME-WxH` (`PREFIX-NAME-dark-1280x900`).
 * Leaves the page at the desktop size in the light scheme.
 */
export async function checkPage(browser: BrowserSession, prefix: string, name: string): Promise<void> {
  const { page } = browser;
  for (const size of SIZES) {
    await page.setViewportSize(size);
    expect(await page.locator('meta[name="viewport"]').count()).toBe(1);
    expect(await page.locator("header.site .summary").count()).toBe(1);
    // A phone never scrolls sideways: tables reflow, long caps and errors wrap.
    const { overflow, wide } = await overflowOf(page);
    expect(overflow, `${name} at ${size.width}px is wider than the screen: ${wide}`).toBeLessThanOrEqual(0);
    expect(await seriousViolations(page), `${name} at ${size.width}px`).toEqual([]);
    await browser.screenshot(`${prefix}-${name}-${size.width}x${size.height}`);
  }
  await page.setViewportSize(SIZES[0]);
  // The dark scheme keeps AA contrast too.
  await page.emulateMedia({ colorScheme: "dark" });
  expect(await page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")).toBe(true);
  expect(await seriousViolations(page), `${name} in the dark scheme`).toEqual([]);
  await browser.screenshot(`${prefix}-${name}-dark-1280x900`);
  await page.emulateMedia({ colorScheme: "light" });
}

/**
 * Keeps what the page does from now on: each response with a 4xx/5xx status in `failed`
 * ("STATUS URL"), each POST it sends in `posts` ("TYPE URL", TYPE an xhr or a document).
 */
export function recordTraffic(page: Page, failed: string[], posts: string[]): void {
  page.on("response", (r) => {
    if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
  });
  page.on("request", (r) => {
    if (r.method() === "POST") posts.push(`${r.resourceType()} ${r.url()}`);
  });
}
