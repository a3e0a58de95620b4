import { describe, expect, it } from "vitest";
import { noSchemaCompilers } from "../src/index.js";

describe("noSchemaCompilers", () => {
  it("refuses any schema with a message naming the package", () => {
    const { compilersFactory } = noSchemaCompilers("@lafs/example");
    for (const build of [compilersFactory.buildValidator, compilersFactory.buildSerializer]) {
      expect(build).toThrow(
        "@lafs/example routes take no JSON schemas: fastify's schema compilers are not loaded",
      );
    }
  });
});
