import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportServers, findRefPeer, type RefGrid, startRefGrid, stopRef } from "../support/refpeer.js";
import { fileOf, type StaticClient, startStaticClient, type WebClient, webClient } from "./support.js";

/**
 * Our checker on four Tahoe-LAFS 1.20 storage nodes (a reference grid), on files Tahoe's client
 * wrote: `t=check&verify=true` agrees with Tahoe's for CHK and MDMF, and our
 * `--repair --add-lease` re-creates a missing share on Tahoe's servers and adds our lease there.
 */

const peer = findRefPeer("interop tests (lafs-ts check/verify/repair on Tahoe servers)");

interface ResultsJson extends Record<string, unknown> {
  healthy: boolean;
  recoverable: boolean;
  sharemap: Record<string, string[]>;
  "list-corrupt-shares": [string, string, number][];
  "servers-responding": string[];
}
interface Json {
  "storage-index": string;
  summary?: string;
  results: ResultsJson;
  "repair-attempted"?: boolean;
  "repair-successful"?: boolean;
  "pre-repair-results": Json;
}

async function checkJson(client: WebClient, cap: string, flags: string): Promise<Json> {
  const res = await fetch(new URL(`uri/${encodeURIComponent(cap)}?t=check&output=JSON${flags}`, client.url), {
    method: "POST",
  });
  const text = await res.text();
  if (res.status !== 200)
    throw new Error(`${client.name}: t=check${flags} answered ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as Json;
}

/** The parts of json_check_results that do not name servers (our ids and Tahoe's differ in form). */
function comparable(r: Json): Record<string, unknown> {
  const x = r.results;
  return {
    si: r["storage-index"],
    summary: r.summary,
    healthy: x.healthy,
    recoverable: x.recoverable,
    good: x["count-shares-good"],
    needed: x["count-shares-needed"],
    expected: x["count-shares-expected"],
    hosts: x["count-good-share-hosts"],
    corrupt: x["count-corrupt-shares"],
    corruptShares: x["list-corrupt-shares"].map((c) => [c[1], c[2]]),
    responding: x["servers-responding"].length,
    sharemap: Object.keys(x.sharemap).sort(),
    wrong: x["count-wrong-shares"],
  };
}

describe.skipIf(peer === undefined)("our checker on Tahoe-LAFS storage servers", () => {
  const ref = peer!;
  let root: string | undefined;
  let refGrid: RefGrid | undefined;
  let client: StaticClient | undefined;
  let theirs: WebClient;
  let ours: WebClient;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "lafs-interop-check-b-"));
    refGrid = await startRefGrid(ref, join(root, "grid"), { n: 4, k: 2, happy: 3, total: 4 });
    const serversYaml = join(root, "servers.yaml");
    await exportServers(ref, serversYaml, refGrid.storageDirs);
    client = await startStaticClient(serversYaml, { k: 2, happy: 3, n: 4, servers: 4 });
    theirs = webClient("Tahoe client", refGrid.url);
    ours = webClient("lafs-ts client", client.url);
  }, 120_000);

  afterAll(async () => {
    try {
      await client?.close();
    } finally {
      if (root !== undefined) {
        await stopRef(ref, join(root, "grid"));
        await rm(root, { recursive: true, force: true });
      }
    }
  }, 60_000);

  async function shareFiles(si: string): Promise<string[]> {
    const out: string[] = [];
    for (const dir of refGrid!.storageDirs) {
      const siDir = join(dir, "storage/shares", si.slice(0, 2), si);
      for (const f of await readdir(siDir).catch(() => [])) out.push(join(siDir, f));
    }
    return out.sort((a, b) => Number(a.split("/").pop()) - Number(b.split("/").pop()));
  }

  it("check --verify agrees with Tahoe's on a CHK file and an MDMF file Tahoe wrote", async () => {
    const cap = await theirs.put(fileOf(300_000, "check-interop-b"));
    const [t0, o0] = await Promise.all([
      checkJson(theirs, cap, "&verify=true"),
      checkJson(ours, cap, "&verify=true"),
    ]);
    expect(comparable(o0)).toEqual(comparable(t0));
    expect(o0.results.healthy).toBe(true);

    const res = await fetch(new URL("uri?format=MDMF", theirs.url), {
      method: "PUT",
      body: fileOf(200_000, "mdmf-b"),
    });
    expect(res.status).toBe(200);
    const mdmf = (await res.text()).trim();
    const [t1, o1] = await Promise.all([
      checkJson(theirs, mdmf, "&verify=true"),
      checkJson(ours, mdmf, "&verify=true"),
    ]);
    expect(comparable(o1)).toEqual(comparable(t1));
    expect(o1.results.healthy).toBe(true);
  }, 60_000);

  it("our check --repair --add-lease re-creates a missing share on Tahoe's servers and adds our lease", async () => {
    const cap = await theirs.put(fileOf(150_000, "repair-interop-b"));
    const si = (await checkJson(ours, cap, ""))["storage-index"];
    const files = await shareFiles(si);
    expect(files).toHaveLength(4);
    await rm(files[2]!);
    const leasesBefore = (await readFile(files[0]!)).readUInt32BE(8);
    const repaired = await checkJson(ours, cap, "&repair=true&add-lease=true");
    expect(repaired["repair-attempted"]).toBe(true);
    expect(repaired["repair-successful"]).toBe(true);
    expect(repaired["pre-repair-results"].results["count-shares-good"]).toBe(3);
    const tahoeSays = await checkJson(theirs, cap, "&verify=true");
    expect(tahoeSays.results.healthy).toBe(true);
    expect(tahoeSays.results["count-shares-good"]).toBe(4);
    // Our node's lease secret is not Tahoe's client's: one more lease on the share.
    expect((await readFile(files[0]!)).readUInt32BE(8)).toBe(leasesBefore + 1);
  }, 60_000);
});
