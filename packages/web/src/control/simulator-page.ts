import { readFileSync } from "node:fs";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { WebError } from "../errors.js";
import { html, raw, type SafeHtml } from "../html.js";
import { page, SECURITY_HEADERS } from "../page.js";
import type { WebNode, WebNodeStatus } from "../web-node.js";
import type { ControlEncoding, ControlServers, WebControl } from "./control-node.js";
import { panelNav, uploadsBanner } from "./panel-layout.js";
import type { SimulatorData } from "./simulator-data.js";

// The page's look is in the common stylesheet; only these responses get a script-src, for the bundle.
const BASE_CSP = SECURITY_HEADERS["Content-Security-Policy"]!;
export const SIMULATOR_CSP = `${BASE_CSP}; script-src 'self'`;

// The same path from src/control (tests) and dist/control (the node): the bundle is built into dist.
const BUNDLE_URL = new URL("../../dist/assets/simulator.js", import.meta.url);

function readBundle(): Buffer | undefined {
  try {
    return readFileSync(BUNDLE_URL);
  } catch {
    return undefined;
  }
}

export function simulatorData(servers: ControlServers, encoding: ControlEncoding): SimulatorData {
  return {
    k: encoding.k,
    happy: encoding.happy,
    n: encoding.n,
    servers: servers.servers.map((s) => ({
      id: s.id,
      nickname: s.nickname,
      ...(s.permutationSeed ? { permutationSeed: s.permutationSeed } : {}),
      connected: s.connection.state === "connected",
      allowed: s.allowed,
      required: s.required,
      full: s.full,
    })),
  };
}

/**
 * JSON that cannot end the <script> element it sits in nor start a comment in it: the data holds
 * peers' nicknames, which may contain "</script>".
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

const yesNo = (value: boolean): string => (value ? "yes" : "no");

function staticGrid(data: SimulatorData): SafeHtml {
  const rows = data.servers.map(
    (s) => html`<tr><td>${s.nickname}</td><td><code>${s.id}</code></td><td>${s.connected ? "up" : "down"}</td>
<td>${yesNo(s.allowed)}</td><td>${yesNo(s.required)}</td><td>${yesNo(s.full)}</td></tr>`,
  );
  return html`<div id="sim-static">
<h2>Current grid</h2>
<p>Encoding: shares.needed (k) = ${data.k}, shares.happy = ${data.happy}, shares.total (N) = ${data.n}.</p>
<table id="sim-static-servers">
<thead><tr><th scope="col">nickname</th><th scope="col">server id</th><th scope="col">connection</th><th scope="col">allowed</th><th scope="col">required</th><th scope="col">full</th></tr></thead>
<tbody>
${rows.length > 0 ? rows : html`<tr><td colspan="6">No storage servers are known.</td></tr>`}
</tbody>
</table>
<noscript><p>The simulator itself needs JavaScript; without it this page shows the current grid only.</p></noscript>
</div>`;
}

export function simulatorPage(data: SimulatorData, status?: WebNodeStatus): string {
  const body = html`${panelNav("simulator")}
<h1>Placement simulator</h1>
${status === undefined ? "" : uploadsBanner(status.uploads)}
<p>Try k, happy and N and mark servers up or down, allowed, required or full, then simulate an upload.
The simulator runs the uploader's own placement code in this page: nothing is uploaded, nothing is saved,
and it sends no requests.</p>
<script type="application/json" id="simulator-data">${raw(jsonForScript(data))}</script>
${staticGrid(data)}
<div id="sim-app" hidden></div>
<script src="assets/simulator.js" defer></script>`;
  return page(
    status === undefined ? "Placement simulator" : `Placement simulator - control panel - ${status.nickname}`,
    body,
    status,
  );
}

/**
 * GET simulator (the page) and GET assets/simulator.js (the bundle) in a scope that has already
 * checked the secret. The page links the bundle relatively, so the secret is never written into JS.
 */
export function registerSimulatorRoutes(scope: FastifyInstance, control: WebControl, node?: WebNode): void {
  // Read once: the bundle only changes with a rebuild, and a rebuild restarts the node.
  const bundle = readBundle();
  // A route hook runs after the app's onSend hook, which sets the common CSP on every response.
  const withSimulatorCsp = async (_request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    reply.header("Content-Security-Policy", SIMULATOR_CSP);
    return payload;
  };

  scope.get("/simulator", { onSend: withSimulatorCsp }, async (_request, reply) => {
    const [servers, encoding] = await Promise.all([control.servers(), control.encoding()]);
    return reply
      .type("text/html; charset=utf-8")
      .send(simulatorPage(simulatorData(servers, encoding), node?.status()));
  });

  scope.get("/assets/simulator.js", { onSend: withSimulatorCsp }, async (_request, reply) => {
    if (!bundle) {
      throw new WebError("TAHOE_ERR_WEB_NOT_FOUND", 404, "no such page: GET assets/simulator.js", {
        hint: "The simulator's script is built with @lafs/web (pnpm --filter @lafs/web build); the page works as a table without it.",
      });
    }
    return reply.type("text/javascript; charset=utf-8").send(bundle);
  });
}
