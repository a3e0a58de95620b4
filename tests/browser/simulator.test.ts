import { randomBytes } from "node:crypto";
import { base32Decode, base32Encode } from "@lafs/crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// TODO(issue 10): open the panel through `tahoe webopen --control-panel --print` on a real node once the
// control panel's routes and webopen land; until then the web app runs here with an in-memory WebControl.
// The relative imports go with it (the root package does not depend on @lafs/web or @lafs/placement).
import { permutationSeedFor, placeShares } from "../../packages/placement/dist/index.js";
import type { ControlServerInfo, WebControl } from "../../packages/web/dist/control/control-node.js";
import { panelWords } from "../../packages/web/dist/control/panel-words.js";
import { registerSimulatorRoutes } from "../../packages/web/dist/control/simulator-page.js";
import { createWebApp, type WebNode } from "../../packages/web/dist/index.js";
import { type BrowserSession, haveChromium, MISSING_CHROMIUM, openBrowser } from "./chromium.js";

const SECRET = base32Encode(randomBytes(32));

interface GridServer {
  id: string;
  nickname: string;
  connected: boolean;
  allowed: boolean;
  required: boolean;
  full: boolean;
}

const grid: GridServer[] = ["alice", "bob", "carol", "dave", "eve", "frank"].map((nickname) => ({
  id: `v0-${base32Encode(randomBytes(32))}`,
  nickname,
  connected: true,
  allowed: true,
  required: false,
  full: false,
}));
grid[5]!.full = true;

function controlServer(s: GridServer): ControlServerInfo {
  return {
    id: s.id,
    nickname: s.nickname,
    connection: { state: s.connected ? "connected" : "disconnected" },
    learnedFrom: ["default"],
    allowed: s.allowed,
    required: s.required,
    decided: true,
    listedOnly: false,
    full: s.full,
  };
}

const control: WebControl = {
  secretMatches: async (candidate) => candidate === SECRET,
  servers: async () => ({
    servers: grid.map(controlServer),
    newServersAllowed: true,
    newServersAllowedSource: "default",
    issues: [],
  }),
  saveServers: async () => {},
  encoding: async () => ({ k: 2, happy: 4, n: 5, sources: { k: "default", happy: "default", n: "default" } }),
  saveEncoding: async () => {},
};

const node: WebNode = {
  status: () => ({
    nickname: "client",
    nodeId: grid[0]!.id,
    version: "lafs-ts/test",
    startedAt: Date.now(),
    introducers: [],
    servers: [],
    storage: { enabled: false },
    uploads: { ready: true },
    encoding: { k: 2, happy: 4, n: 5 },
  }),
  upload: async () => {
    throw new Error("the simulator must not upload");
  },
  openDownload: async () => {
    throw new Error("the simulator must not download");
  },
  createMutable: async () => {
    throw new Error("the simulator must not upload");
  },
  openMutable: async () => {
    throw new Error("the simulator must not download");
  },
  overwriteMutable: async () => {
    throw new Error("the simulator must not upload");
  },
  updateMutable: async () => {
    throw new Error("the simulator must not upload");
  },
};

/** What the uploader's placement says for the grid as the test set it up in the page. */
function expected(
  storageIndex: string,
  encoding: { k: number; happy: number; n: number },
  servers: GridServer[],
) {
  return placeShares({
    storageIndex: base32Decode(storageIndex),
    k: encoding.k,
    happy: encoding.happy,
    n: encoding.n,
    servers: servers.map((s) => ({
      id: s.id,
      nickname: s.nickname,
      permutationSeed: permutationSeedFor(s.id),
      connected: s.connected,
      writable: !s.full,
      existingShares: [],
      allowed: s.allowed,
      required: s.required,
    })),
  });
}

const suite = haveChromium ? describe : describe.skip;
if (!haveChromium) console.warn(MISSING_CHROMIUM);

suite(haveChromium ? "the placement simulator in Chromium" : MISSING_CHROMIUM, () => {
  let app: Awaited<ReturnType<typeof createWebApp>>;
  let url: string;
  let browser: BrowserSession;

  beforeAll(async () => {
    app = await createWebApp(node);
    await app.register(
      async (scope) => {
        scope.addHook("onRequest", async (request, reply) => {
          const { secret } = request.params as { secret: string };
          if (!(await control.secretMatches(secret))) return reply.code(404).send("not found");
        });
        registerSimulatorRoutes(scope, control);
      },
      { prefix: "/control/:secret" },
    );
    const address = await app.listen({ host: "127.0.0.1", port: 0 });
    url = `${address}/control/${SECRET}/simulator`;
    browser = await openBrowser();
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  /** The placement picture as the page shows it: rows in order, each server's new shares. */
  async function shownPlacement() {
    const { page } = browser;
    const rows = await page.locator("#sim-placement tbody tr").evaluateAll((trs) =>
      trs.map((tr) => ({
        id: tr.getAttribute("data-server-id"),
        newShares: tr.querySelector(".sim-new-shares")?.textContent ?? "",
      })),
    );
    const refusals = await page.locator("#sim-refusals li").evaluateAll((lis) =>
      lis.map((li) => ({
        code: li.getAttribute("data-code"),
        message: li.querySelector(".sim-message")?.textContent,
        hint: li.querySelector(".sim-hint")?.textContent,
      })),
    );
    const happiness = Number(await page.locator("#sim-happiness").getAttribute("data-happiness"));
    const ok = (await page.locator("#sim-outcome").getAttribute("data-ok")) === "true";
    return { rows, refusals, happiness, ok };
  }

  function asShown(placement: ReturnType<typeof placeShares>) {
    return {
      rows: placement.servers.map((s) => ({ id: s.id, newShares: s.newShares.join(", ") })),
      // The hint as the panel words it: the Encoding page, not tahoe.cfg, sets k/happy/N there.
      refusals: placement.refusals.map((r) => ({
        code: r.code,
        message: r.message,
        hint: panelWords(r.hint),
      })),
      happiness: placement.happiness,
      ok: placement.ok,
    };
  }

  it("shows the same placement as placeShares for the current grid", async () => {
    const { page } = browser;
    await page.goto(url);
    await expect.poll(() => page.locator("#sim-app").isVisible()).toBe(true);
    expect(await page.locator("#sim-static").isVisible()).toBe(false);
    const requestsBefore = browser.requests.length;
    await page.click("#sim-run");
    await page.locator("#sim-outcome").waitFor();
    const si = await page.inputValue("#sim-si");
    expect(si).toMatch(/^[a-z2-7]{26}$/);
    const want = expected(si, { k: 2, happy: 4, n: 5 }, grid);
    expect(want.ok).toBe(true);
    expect(await shownPlacement()).toEqual(asShown(want));
    expect(await page.locator("#sim-result").getAttribute("aria-live")).toBe("polite");
    await browser.screenshot("simulator-ok");
    // Simulating asks nothing of the node.
    expect(browser.requests.length).toBe(requestsBefore);
  });

  it("shows the refusal placement gives when servers are down, not allowed or required", async () => {
    const { page } = browser;
    await page.fill("#sim-k", "3");
    await page.fill("#sim-happy", "5");
    await page.fill("#sim-n", "6");
    const [alice, bob, carol] = grid;
    await page.uncheck(`input[name=up][value="${alice!.id}"]`);
    await page.uncheck(`input[name=allowed][value="${bob!.id}"]`);
    await page.check(`input[name=required][value="${alice!.id}"]`);
    await page.check(`input[name=required][value="${carol!.id}"]`);
    await page.click("#sim-run");
    const si = await page.inputValue("#sim-si");
    const edited = grid.map((s) => ({
      ...s,
      connected: s !== alice,
      allowed: s !== bob,
      required: s === alice || s === carol,
    }));
    const want = expected(si, { k: 3, happy: 5, n: 6 }, edited);
    expect(want.ok).toBe(false);
    expect(want.refusals[0]!.message).toContain("'alice'");
    expect(await shownPlacement()).toEqual(asShown(want));
    await browser.screenshot("simulator-refused");

    // A new storage index reorders the servers, and the page follows placement there too.
    await page.click("#sim-si-new");
    const si2 = await page.inputValue("#sim-si");
    expect(si2).not.toBe(si);
    await page.click("#sim-run");
    expect(await shownPlacement()).toEqual(asShown(expected(si2, { k: 3, happy: 5, n: 6 }, edited)));
  });

  it("adds and removes hypothetical servers, and says what is wrong with bad input", async () => {
    const { page } = browser;
    await page.click("#sim-reset");
    await page.click("#sim-add");
    await expect.poll(() => page.locator("#sim-servers-body tr").count()).toBe(grid.length + 1);
    await page.click(`#sim-servers-body tr:last-child .sim-remove`);
    await expect.poll(() => page.locator("#sim-servers-body tr").count()).toBe(grid.length);
    await page.fill("#sim-happy", "9");
    await page.click("#sim-run");
    expect(await page.locator("#sim-outcome .sim-message").textContent()).toBe(
      "encoding k=2, happy=9, N=5 is out of order: need k <= happy <= N",
    );
    await page.fill("#sim-happy", "4");
    await page.fill("#sim-si", "not a storage index");
    await page.click("#sim-run");
    expect(await page.locator("#sim-outcome .sim-message").textContent()).toContain(
      "storage index 'not a storage index' is not 16 bytes",
    );
  });

  it("works with the keyboard alone, with visible focus and a label for every control", async () => {
    const { page } = browser;
    await page.goto(url);
    await page.locator("#sim-app").waitFor();

    const tabTo = async (selector: string): Promise<void> => {
      for (let i = 0; i < 100; i++) {
        await page.keyboard.press("Tab");
        const focused = page
          .locator(selector)
          .evaluateAll((els) => els.some((el) => el === el.ownerDocument.activeElement));
        if (await focused) return;
      }
      throw new Error(`Tab never reached ${selector}`);
    };
    await tabTo("#sim-k");
    // Keyboard focus must be visible: the page's :focus-visible outline, not the browser's nothing.
    const outline = await page
      .locator("#sim-k")
      .evaluate((el) => el.ownerDocument.defaultView?.getComputedStyle(el).outlineStyle);
    expect(outline).not.toBe("none");
    await page.keyboard.press("Control+A");
    await page.keyboard.type("3");
    await tabTo(`input[name=up][value="${grid[0]!.id}"]`);
    await page.keyboard.press("Space");
    await tabTo(`input[name=required][value="${grid[0]!.id}"]`);
    await page.keyboard.press("Space");
    await tabTo("#sim-run");
    await page.keyboard.press("Enter");
    await page.locator("#sim-outcome").waitFor();
    const si = await page.inputValue("#sim-si");
    const edited = grid.map((s, i) => (i === 0 ? { ...s, connected: false, required: true } : s));
    const want = expected(si, { k: 3, happy: 4, n: 5 }, edited);
    expect(want.refusals[0]!.code).toBe("TAHOE_ERR_PLACEMENT_REQUIRED_NOT_CONNECTED");
    expect(await shownPlacement()).toEqual(asShown(want));

    const unlabelled = await page.locator("input, select, textarea, button").evaluateAll((controls) =>
      controls
        .filter((control) => {
          const name =
            control.tagName === "BUTTON"
              ? control.textContent
              : [...(control.labels ?? [])].map((label) => label.textContent).join(" ");
          return !name?.trim();
        })
        .map((control) => control.outerHTML),
    );
    expect(unlabelled).toEqual([]);
    const k = page.getByLabel("shares.needed (k)");
    expect(await k.inputValue()).toBe("3");
    await browser.screenshot("simulator-keyboard");
  });

  it("loaded nothing but its own page, script and stylesheet, all from 127.0.0.1, without CSP errors", () => {
    expect(browser.blocked).toEqual([]);
    expect(browser.requests.every((r) => r.startsWith("http://127.0.0.1:"))).toBe(true);
    const paths = new Set(browser.requests.map((r) => new URL(r).pathname.replace(SECRET, "SECRET")));
    // The page, its script, and the node's one stylesheet and icon.
    expect([...paths].sort()).toEqual([
      "/control/SECRET/assets/simulator.js",
      "/control/SECRET/simulator",
      "/static/favicon.svg",
      "/static/lafs.css",
    ]);
    expect(browser.errors).toEqual([]);
  });
});
