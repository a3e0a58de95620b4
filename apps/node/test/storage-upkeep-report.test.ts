import { randomBytes } from "node:crypto";
import { base32Encode } from "@lafs/crypto";
import { createStorageClient } from "@lafs/storage-client";
import { describe, expect, it } from "vitest";
import { useStorageNode } from "./storage-node-setup.js";

const storageNode = useStorageNode();

describe("the welcome page of a storage node: lease expiry and advisories", () => {
  it("shows [storage]expire.* as the lease crawler runs it, and lists the corruption advisories received", async () => {
    const { url, nurl } = await storageNode.start({
      storage: [
        "enabled = true",
        "reserved_space = 0",
        "expire.enabled = true",
        "expire.mode = cutoff-date",
        "expire.cutoff_date = 2020-01-01",
        "expire.mutable = false",
      ],
    });

    const si = base32Encode(Buffer.alloc(16, 5));
    const client = createStorageClient({ nurl, timeoutMs: 5000 });
    try {
      const uploadSecret = randomBytes(20);
      await client.allocate(si, {
        shareNumbers: [2],
        allocatedSize: 5,
        renewSecret: randomBytes(32),
        cancelSecret: randomBytes(32),
        uploadSecret,
      });
      await client.write(si, 2, 0, Buffer.from("share"), uploadSecret);
      await client.adviseCorrupt("immutable", si, 2, "block 0 fails its hash <check>");
    } finally {
      await client.close();
    }

    const json = (await (await fetch(`${url}?t=json`)).json()) as { storage: Record<string, unknown> };
    expect(json.storage).toMatchObject({
      corruption_advisories: {
        count: 1,
        recent: [
          {
            type: "immutable",
            storage_index: si,
            share_number: 2,
            reason: "block 0 fails its hash <check>",
            received: expect.any(Number),
          },
        ],
      },
      lease_checker: {
        expiration_enabled: true,
        mode: "cutoff-date",
        cutoff_date: Date.UTC(2020, 0, 1) / 1000,
        override_lease_duration: null,
        sharetypes: ["immutable"],
        state: "starting",
        cycle: 0,
      },
    });
    const page = await (await fetch(url)).text();
    expect(page).toContain(
      "Lease expiry is on: leases last renewed before 2020-01-01 expire; expiry applies to immutable shares.",
    );
    expect(page).toContain("block 0 fails its hash &lt;check&gt;");
    expect(page).toContain(`<code>${si}</code>`);
  });
});
