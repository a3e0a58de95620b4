import { describe, expect, it } from "vitest";
import { DeepCheckReport } from "../src/deep-check-command.js";

/** What `tahoe deep-check` prints per unit, as Tahoe's DeepCheckOutput does (scripts/tahoe_check.py). */
describe("tahoe deep-check report", () => {
  it("prints Tahoe's 'N objects checked..' marker on stdout every 100 objects, and skips other units", () => {
    const report = new DeepCheckReport(false, false);
    const healthy = { type: "file", path: ["f"], "check-results": { results: { healthy: true } } };
    const out: string[] = [];
    for (let i = 0; i < 250; i++) out.push(...report.unit(healthy));
    out.push(...report.unit({ type: "unknown", path: ["u"] }), ...report.unit({ type: "stats", stats: {} }));
    expect(out).toEqual(["100 objects checked..", "200 objects checked.."]);
    expect(report.done()).toEqual(["done: 250 objects checked, 250 healthy, 0 unhealthy"]);
  });
});
