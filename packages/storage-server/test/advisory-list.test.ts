import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RECENT_LISTED } from "../src/advisories.js";
import { gbs } from "./gbs-requests.js";
import { CBOR_HEADERS, cbor, startTestServer, type TestServer } from "./helpers.js";
import { immutableShare, storageIndex } from "./lease-crawl-support.js";

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const advise = (server: TestServer, si: string, shnum: number, reason: string) =>
  server.request("POST", `/storage/v1/immutable/${si}/${shnum}/corrupt`, {
    headers: CBOR_HEADERS,
    body: cbor(new Map([["reason", reason]])),
  });

describe("corruption advisories listed for the operator", () => {
  it("lists the newest advisories with their share and reason, newest first, and again after a restart", async () => {
    t = await startTestServer();
    const si = storageIndex(7);
    await immutableShare(gbs(t), si, 3);
    expect((await advise(t, si, 3, "first report")).status).toBe(200);
    t.clock.now += 1000;
    expect((await advise(t, si, 3, "second report\n\nwith a blank line")).status).toBe(200);
    const recent = t.server.status().corruptionAdvisories.recent!;
    expect(recent.map((r) => r.reason)).toEqual(["second report\n\nwith a blank line", "first report"]);
    expect(recent[0]).toMatchObject({ kind: "immutable", storageIndex: si, shareNumber: 3 });
    expect(recent[0]!.receivedAt).toBe(t.clock.now);

    // Files left by earlier runs (Tahoe's format) are read at start; only the newest are listed.
    const dir = join(t.storageDir, "corruption-advisories");
    for (let i = 0; i < RECENT_LISTED + 5; i++) {
      const other = storageIndex(100 + i);
      await writeFile(
        join(dir, `2000-01-01T0000${String(i).padStart(2, "0")}--${other}-1`),
        `report: Share Corruption\ntype: mutable\nstorage_index: ${other}\nshare_number: 1\n\nold ${i}\n`,
      );
    }
    await t.restart();
    const listed = t.server.status().corruptionAdvisories.recent!;
    expect(listed).toHaveLength(RECENT_LISTED);
    expect(listed[0]!.reason).toBe("second report\n\nwith a blank line");
    expect(listed[2]).toMatchObject({
      kind: "mutable",
      storageIndex: storageIndex(124),
      shareNumber: 1,
      reason: "old 24",
    });
    expect(t.server.status().corruptionAdvisories.count).toBe(RECENT_LISTED + 7);
  });
});
