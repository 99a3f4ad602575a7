import type { JsonSchema } from './openapi-types.js';

/**
 * Throws if a property's schema is `{}` (accepts anything): a z.custom() field the document
 * renders (allowEmptySchema) but whose .meta() says nothing of its JSON Schema.
 */
export function assertRepresented(schema: JsonSchema | unknown, path: string): void {
  if (typeof schema !== 'object' || schema === null) return;
  if (Array.isArray(schema)) {
    for (const [index, item] of schema.entries()) assertRepresented(item, `${path}/${index}`);
    return;
  }
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' && typeof value === 'object' && value !== null) {
      for (const [name, property] of Object.entries(value)) {
        if (typeof property === 'object' && property !== null && Object.keys(property).length === 0) {
          throw new Error(`openapi: ${path}/${key}/${name} has no JSON Schema: give its zod schema a .meta() override`);
        }
      }
    }
    assertRepresented(value, `${path}/${key}`);
  }
}
