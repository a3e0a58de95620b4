/**
 * fastify's `schemaController` option for apps whose routes declare no JSON schema: fastify's
 * default schema compilers (ajv and fast-json-stringify: about 100 modules and tens of
 * milliseconds at every node start) are then never loaded. A route that adds a schema fails when
 * it is registered, with a message naming `owner`. Plain data, so no package here imports fastify
 * for it.
 */
export function noSchemaCompilers(owner: string): {
  compilersFactory: { buildValidator: () => never; buildSerializer: () => never };
} {
  const refuse = (): never => {
    throw new Error(`${owner} routes take no JSON schemas: fastify's schema compilers are not loaded`);
  };
  return { compilersFactory: { buildValidator: refuse, buildSerializer: refuse } };
}
