import type { FastifyInstance } from "fastify";
import { describe, expect, it } from "vitest";
import { useMemoryApp } from "./memory-app.js";
import type { MemoryNode } from "./memory-node.js";

let node: MemoryNode;
let app: FastifyInstance;
const NOW = 1_700_000_300_000;

useMemoryApp((fresh) => ({ node, app } = fresh), { now: () => NOW });

describe("the welcome page", () => {
  it("shows node, introducers, servers with connection, last RX, version and space", async () => {
    const res = await app.inject({ url: "/" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    const body = res.body;
    expect(body).toContain("<title>Tahoe-LAFS - alice</title>");
    expect(body).toContain("v0-aaaabbbbccccddddeeeeffffgggghhhhiiiijjjjkkkkllllmmmm");
    expect(body).toContain("lafs-ts/0.0.0");
    expect(body).toContain(
      '<time datetime="2023-11-14T22:13:20.000Z">14 Nov 2023, 22:13:20 UTC</time> (5 minutes ago)',
    );
    expect(body).toContain(
      '<td data-label="Introducer">default</td><td data-label="Status">connected</td><td data-label="Since">4 minutes ago</td>',
    );
    expect(body).toContain("Connected to 1 of 2 known storage servers");
    expect(body).toContain("Connected to tcp:127.0.0.1:4000 via tcp");
    expect(body).toContain('<td data-label="Last RX">10 seconds ago</td>');
    expect(body).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(body).toContain('<li id="summary-servers" class="ready">Servers: 1 of 2 connected</li>');
    expect(body).not.toContain("read-only");
    expect(body).toContain("tahoe-lafs/1.20.0");
    expect(body).toContain("12.35 GB");
    expect(body).toContain("enabled, 5.00 GB available");
    expect(body).toContain("Disconnected: tor:abc.onion:80: TAHOE_ERR_TRANSPORT_NO_TOR: no tor");
    expect(body).toContain("servers.yaml");
    expect(body).toContain("shares.needed = 3, shares.happy = 7, shares.total = 10");
    expect(body).toContain("Uploads can start now (3-of-10, happy = 7).");
    expect(body).toContain("<code>tahoe webopen --control-panel</code>");
    expect(body).toContain('enctype="multipart/form-data"');
    // One script, the node's own, for the upload's progress bar; the form works without it.
    expect(body.match(/<script/g)).toEqual(["<script"]);
    expect(body).toContain('<script src="/static/upload-progress.js" defer></script>');
  });

  it("says why uploads cannot start, in placement's words", async () => {
    node.state.uploads = {
      ready: false,
      reason: "uploads disabled: server 'bob' (v0-abc) is required but not connected",
    };
    const res = await app.inject({ url: "/" });
    expect(res.body).toContain(
      "Uploads cannot start now: uploads disabled: server &#39;bob&#39; (v0-abc) is required but not connected",
    );
  });

  it("escapes a nickname holding markup everywhere it appears", async () => {
    node.state.nickname = `<script>alert("x")</script>`;
    node.state.servers[0]!.nickname = `<img src=x onerror=alert(1)>`;
    node.state.introducers[0]!.petname = `"><b>`;
    const res = await app.inject({ url: "/" });
    expect(res.body).not.toContain("<script>");
    expect(res.body).not.toContain("<img");
    expect(res.body).not.toContain('"><b>');
    expect(res.body).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(res.body).toContain("&lt;img src=x onerror=alert(1)&gt;");
  });

  it("shows empty introducer and server lists in words", async () => {
    node.state.introducers = [];
    node.state.servers = [];
    const res = await app.inject({ url: "/" });
    expect(res.body).toContain("No introducers are configured.");
    expect(res.body).toContain("No storage servers are known yet.");
  });

  it("gives the same data as JSON with ?t=json, with Tahoe's server keys", async () => {
    node.state.uploads = { ready: false, reason: "not enough servers" };
    const res = await app.inject({ url: "/?t=json" });
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    expect(res.json()).toEqual({
      node: {
        nickname: "alice",
        node_id: "v0-aaaabbbbccccddddeeeeffffgggghhhhiiiijjjjkkkkllllmmmm",
        version: "lafs-ts/0.0.0",
        started: 1_700_000_000,
        uptime: 300,
      },
      introducers: {
        statuses: ["default: connected"],
        list: [{ petname: "default", state: "connected", since: 1_700_000_060 }],
      },
      servers: [
        {
          nodeid: "v0-server1server1server1server1server1server1server1se",
          nickname: "bob",
          connection_status: "Connected to tcp:127.0.0.1:4000 via tcp",
          connection: {
            state: "connected",
            hint: "tcp:127.0.0.1:4000",
            handler: "tcp",
            since: 1_700_000_100,
            errors: [],
          },
          last_received_data: 1_700_000_290,
          version: "tahoe-lafs/1.20.0",
          available_space: 12_345_678_900,
          learned_from: ["default"],
        },
        {
          nodeid: "v0-server2server2server2server2server2server2server2se",
          nickname: "carol",
          connection_status: "Disconnected: tor:abc.onion:80: TAHOE_ERR_TRANSPORT_NO_TOR: no tor",
          connection: {
            state: "disconnected",
            hint: null,
            handler: null,
            since: null,
            errors: [{ hint: "tor:abc.onion:80", message: "TAHOE_ERR_TRANSPORT_NO_TOR: no tor" }],
          },
          last_received_data: null,
          version: null,
          available_space: null,
          learned_from: ["servers.yaml"],
        },
      ],
      storage: { enabled: true, available_space: 5_000_000_000 },
      uploads: { ready: false, reason: "not enough servers" },
      encoding: { k: 3, happy: 7, n: 10 },
    });
  });

  it("rejects an unknown t= with a 400 page", async () => {
    const res = await app.inject({ url: "/?t=rss", headers: { accept: "text/html" } });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain("unknown t=rss");
  });
});
