import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allocateI2pDestination, b32Address } from "../src/index.js";
// The offline i2pd of the SAM client's tests: private netid, no reseed, no NTP, no UPnP, SAM only.
import { type RealI2pd, startOfflineI2pd } from "./real-i2pd.js";
import { missingI2pd } from "./tor-helpers.js";

const skip = missingI2pd();

describe.skipIf(skip !== undefined)("allocateI2pDestination with a real, offline i2pd", () => {
  let i2pd: RealI2pd | undefined;
  let samPort = 0;

  beforeAll(async () => {
    i2pd = await startOfflineI2pd();
    samPort = i2pd.samPort;
  }, 20_000);

  afterAll(async () => {
    await i2pd?.stop();
  });

  it("gets a new Ed25519 destination over SAM and names it by its .b32.i2p address", async () => {
    const progress: string[] = [];
    const dest = await allocateI2pDestination({
      samPort: { kind: "tcp", host: "127.0.0.1", port: samPort },
      externalPort: 3457,
      onProgress: (line) => progress.push(line),
    });
    expect(dest.address).toMatch(/^[a-z2-7]{52}\.b32\.i2p$/);
    expect(dest.address).toBe(b32Address(dest.publicKey));
    expect(dest.hint).toBe(`i2p:${dest.address}:3457`);
    // The private blob starts with the public destination (I2P's PrivateKeyFile layout).
    const bytes = (t: string) => Buffer.from(t.replace(/-/g, "+").replace(/~/g, "/"), "base64");
    const pub = bytes(dest.publicKey);
    expect(pub.length).toBeGreaterThanOrEqual(387);
    expect(bytes(dest.privateKey).subarray(0, pub.length).equals(pub)).toBe(true);
    expect(progress).toEqual([
      `asking the I2P SAM bridge tcp:127.0.0.1:${samPort} for a new destination...`,
      `created I2P destination ${dest.address}`,
    ]);
    const other = await allocateI2pDestination({
      samPort: { kind: "tcp", host: "127.0.0.1", port: samPort },
      externalPort: 3457,
    });
    expect(other.address).not.toBe(dest.address);
  });
});

describe("allocateI2pDestination without a router", () => {
  it("refuses a unix-socket SAM endpoint", async () => {
    const error = await allocateI2pDestination({
      samPort: { kind: "unix", path: "/run/sam" },
      externalPort: 1,
    }).catch((e) => e);
    expect(error.code).toBe("TAHOE_ERR_I2P_SAM_PORT");
    expect(error.message).toBe("the SAM bridge must be a TCP endpoint, not unix:/run/sam");
  });
});
