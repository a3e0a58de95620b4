import { describe, expect, it } from "vitest";
import { formatTahoeError, isTahoeError, TahoeError } from "../src/index.js";

class ExampleError extends TahoeError {}

describe("TahoeError", () => {
  it("keeps code, message, hint and cause", () => {
    const cause = new Error("disk full");
    const err = new ExampleError("TAHOE_ERR_TEST_EXAMPLE", "could not write x", {
      hint: "free space",
      cause,
    });
    expect(err.code).toBe("TAHOE_ERR_TEST_EXAMPLE");
    expect(err.message).toBe("could not write x");
    expect(err.hint).toBe("free space");
    expect(err.cause).toBe(cause);
    expect(err.name).toBe("ExampleError");
    expect(err).toBeInstanceOf(Error);
    expect(isTahoeError(err)).toBe(true);
    expect(isTahoeError(new Error("plain"))).toBe(false);
  });

  it("formats message and hint for people", () => {
    expect(formatTahoeError(new TahoeError("TAHOE_ERR_TEST_EXAMPLE", "bad", { hint: "fix it" }))).toBe(
      "bad\nfix it",
    );
    expect(formatTahoeError(new TahoeError("TAHOE_ERR_TEST_EXAMPLE", "bad"))).toBe("bad");
  });
});
