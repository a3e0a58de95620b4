import { expect } from "vitest";
import { CryptoError } from "../src/index.js";

/** Runs fn, which must throw a CryptoError, and returns that error for closer checks. */
export function errorOf(fn: () => unknown): CryptoError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CryptoError);
    return error as CryptoError;
  }
  throw new Error("did not throw");
}
