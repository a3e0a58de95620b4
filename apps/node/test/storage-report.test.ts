import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { base32Encode } from "@lafs/crypto";
import { createStorageClient } from "@lafs/storage-client";
import { describe, expect, it } from "vitest";
import { useStorageNode } from "./storage-node-setup.js";

const storageNode = useStorageNode();

describe("the welcome page of a storage node", () => {
  it("shows the share files its storage server found damaged, and the advisories it received, in HTML and ?t=json", async () => {
    const { url, nurl, basedir } = await storageNode.start();

    const clean = (await (await fetch(`${url}?t=json`)).json()) as { storage: Record<string, unknown> };
    expect(clean.storage).toMatchObject({
      enabled: true,
      corrupt_shares: { count: 0, list: [] },
      corruption_advisories: { count: 0, bytes: 0, refused: 0 },
    });
    expect(await (await fetch(url)).text()).toContain("No damaged share files found.");

    // A share file whose header is not a container's, found when a client lists the storage index.
    const si = base32Encode(Buffer.alloc(16, 9));
    const path = join(basedir, "storage", "shares", si.slice(0, 2), si, "4");
    await mkdir(join(path, ".."), { recursive: true });
    await writeFile(path, "this is not a share container");
    const client = createStorageClient({ nurl, timeoutMs: 5000 });
    try {
      expect(await client.listImmutableShares(si)).toEqual([]);
    } finally {
      await client.close();
    }

    const report = (await (await fetch(`${url}?t=json`)).json()) as { storage: Record<string, unknown> };
    expect(report.storage).toMatchObject({
      enabled: true,
      corrupt_shares: {
        count: 1,
        list: [
          {
            path,
            storage_index: si,
            share_number: 4,
            kind: "unknown",
            problem: expect.stringContaining("0x74686973"),
            first_seen: expect.any(Number),
          },
        ],
      },
    });
    const page = await (await fetch(url)).text();
    expect(page).toContain("1 damaged share file found.");
    expect(page).toContain(path);
    expect(page).toContain("Corruption advisories received: 0");
    // Left in place for the operator.
    expect(await readFile(path, "utf8")).toBe("this is not a share container");
  });
});
