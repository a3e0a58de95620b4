import { TahoeError } from "@lafs/interface";
import { describe, expect, it } from "vitest";
import { errorView } from "../src/error-page.js";

/** The web statuses of the download failures the node raises (issue 15, defects 8 and 9). */
describe("download error statuses", () => {
  const cases: [code: `TAHOE_ERR_${string}`, status: number][] = [
    ["TAHOE_ERR_DOWNLOAD_NOT_ENOUGH_SHARES", 410],
    ["TAHOE_ERR_IMMUTABLE_NOT_ENOUGH_SHARES", 410],
    ["TAHOE_ERR_IMMUTABLE_CRYPTTEXT_HASH", 410],
    ["TAHOE_ERR_DOWNLOAD_CAP", 400],
    ["TAHOE_ERR_IMMUTABLE_CAP", 400],
    ["TAHOE_ERR_DOWNLOAD_ABORTED", 503],
  ];
  for (const [code, status] of cases) {
    it(`${code} is ${status} with the error's words`, () => {
      const view = errorView(new TahoeError(code, `words for ${code}`, { hint: "a hint" }));
      expect(view).toEqual({ status, code, message: `words for ${code}`, hint: "a hint" });
    });
  }
});
