import { describe, expect, it } from "vitest";
import { abbreviateSpaceBoth, formatStats, pollTimes } from "../src/stats-command.js";

/**
 * `tahoe stats` prints what Tahoe's StatsGrabber.write_results prints. The expected text was made
 * by the reference Tahoe-LAFS 1.20 (allmydata.scripts.tahoe_manifest) from the same data.
 */
describe("tahoe stats output", () => {
  it("formats counts, sizes and the histogram as Tahoe-LAFS does", () => {
    const data = {
      "api-version": 1,
      "count-immutable-files": 3,
      "count-mutable-files": 2,
      "count-literal-files": 1,
      "count-files": 6,
      "count-directories": 4,
      "count-unknown": 0,
      "size-immutable-files": 3246729,
      "size-literal-files": 55,
      "size-directories": 1125,
      "largest-directory": 999,
      "largest-directory-children": 7,
      "largest-immutable-file": 2197153,
      "size-files-histogram": [
        [32, 100, 1],
        [101, 316, 1],
        [1001, 3162, 1],
        [1000001, 3162277, 1],
        [3162278, 10000000, 12],
      ],
      finished: true,
    };
    expect(formatStats(data)).toBe(
      "Counts and Total Sizes:\n count-immutable-files: 3\n   count-mutable-files: 2\n   count-literal-files: 1\n           count-files: 6\n     count-directories: 4\n  size-immutable-files: 3246729    (3.25 MB, 3.10 MiB)\n    size-literal-files: 55\n      size-directories: 1125    (1.12 kB, 1.10 kiB)\n     largest-directory: 999\nlargest-immutable-file: 2197153    (2.20 MB, 2.10 MiB)\nSize Histogram:\n      32-100      : 1     (100 B, 100 B)\n     101-316      : 1     (316 B, 316 B)\n       ...\n    1001-3162     : 1     (3.16 kB, 3.09 kiB)\n       ...\n 1000001-3162277  : 1     (3.16 MB, 3.02 MiB)\n 3162278-10000000 : 12    (10.00 MB, 9.54 MiB)\n",
    );
  });

  it("abbreviates sizes as Tahoe's abbreviate_space_both, a tie rounding to even as Python's %.2f", () => {
    expect(abbreviateSpaceBoth(1125)).toBe("(1.12 kB, 1.10 kiB)");
    expect(abbreviateSpaceBoth(1015)).toBe("(1015 B, 1015 B)");
    expect(abbreviateSpaceBoth(1024)).toBe("(1.02 kB, 1.00 kiB)");
    expect(abbreviateSpaceBoth(1048576)).toBe("(1.05 MB, 1.00 MiB)");
    expect(abbreviateSpaceBoth(1125000)).toBe("(1.12 MB, 1.07 MiB)");
    expect(abbreviateSpaceBoth(10 ** 12)).toBe("(1.00 TB, 931.32 GiB)");
  });

  it("polls on Tahoe's schedule", () => {
    const times = pollTimes();
    expect(Array.from({ length: 9 }, () => times.next().value)).toEqual([
      1, 5, 10, 30, 60, 90, 120, 240, 360,
    ]);
  });
});
