import { describe, expect, it } from "vitest";
import type { ControlServerInfo, ControlServers } from "../src/control/control-node.js";
import { checkEncodingForGrid } from "../src/control/encoding-check.js";

function grid(flags: { allowed: boolean; required?: boolean; connected?: boolean }[]): ControlServers {
  const servers: ControlServerInfo[] = flags.map((f, i) => ({
    id: `v0-${String(i).repeat(52)}`,
    nickname: `s${i}`,
    connection: { state: f.connected === false ? "disconnected" : "connected" },
    learnedFrom: ["default"],
    allowed: f.allowed,
    required: f.required ?? false,
    decided: true,
    listedOnly: false,
    full: false,
  }));
  return { servers, newServersAllowed: true, newServersAllowedSource: "default", issues: [] };
}

describe("checkEncodingForGrid", () => {
  const four = grid([{ allowed: true }, { allowed: true }, { allowed: true }, { allowed: true }]);

  it("refuses happy above the allowed servers with placement's reason and values that fit", () => {
    expect(() => checkEncodingForGrid({ k: 2, happy: 5, n: 6 }, four)).toThrow(
      expect.objectContaining({
        code: "TAHOE_ERR_WEB_BAD_ENCODING",
        message: expect.stringContaining("k = 2, happy = 5, N = 6 cannot be placed on this grid"),
        hint: expect.stringContaining("This grid can place, for example, k = 2, happy = 4, N = 6."),
      }),
    );
  });

  it("refuses k > happy with a suggestion this grid can place", () => {
    expect(() => checkEncodingForGrid({ k: 5, happy: 3, n: 6 }, four)).toThrow(
      expect.objectContaining({
        message: expect.stringContaining("1 <= k <= happy <= N <= 256"),
        hint: "Nothing was saved. This grid can place, for example, k = 3, happy = 3, N = 6.",
      }),
    );
  });

  it("saves what places, and what no encoding could place (the banner says why)", () => {
    expect(() => checkEncodingForGrid({ k: 2, happy: 4, n: 5 }, four)).not.toThrow();
    // A server that is down now does not make an encoding wrong.
    const down = grid([{ allowed: true }, { allowed: true, connected: false }]);
    expect(() => checkEncodingForGrid({ k: 1, happy: 2, n: 2 }, down)).not.toThrow();
    expect(() => checkEncodingForGrid({ k: 1, happy: 2, n: 2 }, grid([]))).not.toThrow();
    const requiredNotAllowed = grid([{ allowed: true }, { allowed: false, required: true }]);
    expect(() => checkEncodingForGrid({ k: 1, happy: 1, n: 1 }, requiredNotAllowed)).not.toThrow();
  });
});
