/**
 * fast-check generators read from openapi.json: values that satisfy a JSON Schema (the subset
 * the document uses), and requests for each operation the document describes. The HTTP fuzz
 * (openapi.http.fuzz.test.ts) mixes them with bad input, so the fuzz follows the document as it changes.
 */
import fc from 'fast-check';

type JsonObject = { [key: string]: unknown };

/** The document, for resolving `$ref`s. */
export interface OpenApiDocument extends JsonObject {
  paths: Record<string, Record<string, JsonObject>>;
}

function resolve(document: OpenApiDocument, node: JsonObject): JsonObject {
  let current = node;
  for (let hops = 0; typeof current.$ref === 'string' && hops < 10; hops++) {
    let target: unknown = document;
    for (const segment of current.$ref.slice(2).split('/')) target = (target as JsonObject)[segment];
    current = target as JsonObject;
  }
  return current;
}

/** Two-decimal amounts and integers within [minimum, maximum], with the bounds themselves likely. */
function numberArbitrary(schema: JsonObject): fc.Arbitrary<number> {
  const minimum = typeof schema.minimum === 'number' ? schema.minimum : -1e9;
  const maximum = typeof schema.maximum === 'number' ? schema.maximum : 1e9;
  if (schema.type === 'integer') return fc.integer({ min: Math.max(minimum, -1e15), max: Math.min(maximum, 1e15) });
  const places = typeof schema['x-maxDecimalPlaces'] === 'number' ? schema['x-maxDecimalPlaces'] : 2;
  const scale = 10 ** places;
  return fc
    .integer({ min: Math.ceil(minimum * scale), max: Math.floor(maximum * scale) })
    .map((scaled) => scaled / scale);
}

/** Values that satisfy `schema` (types, patterns, date-time, ranges, required and optional properties). */
export function valueFor(document: OpenApiDocument, node: JsonObject): fc.Arbitrary<unknown> {
  const schema = resolve(document, node);
  if (Array.isArray(schema.anyOf)) return fc.oneof(...(schema.anyOf as JsonObject[]).map((s) => valueFor(document, s)));
  if ('const' in schema) return fc.constant(schema.const);
  switch (schema.type) {
    case 'string': {
      if (schema.format === 'date-time') {
        return fc
          .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true })
          .map((date) => date.toISOString());
      }
      const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
      const maxLength = typeof schema.maxLength === 'number' ? Math.min(schema.maxLength, 80) : 40;
      if (typeof schema.pattern === 'string' && schema.pattern.startsWith('^')) {
        return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length >= minLength);
      }
      const text = fc.string({ minLength, maxLength });
      return typeof schema.pattern === 'string'
        ? text.filter((s) => new RegExp(schema.pattern as string).test(s))
        : text;
    }
    case 'number':
    case 'integer':
      return numberArbitrary(schema);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const item = valueFor(document, (schema.items ?? {}) as JsonObject);
      const minLength = typeof schema.minItems === 'number' ? schema.minItems : 0;
      const maxLength = Math.min(typeof schema.maxItems === 'number' ? schema.maxItems : 5, 5);
      return fc.array(item, { minLength, maxLength });
    }
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, JsonObject>;
      const required = new Set((schema.required ?? []) as string[]);
      const record = Object.fromEntries(
        Object.entries(properties).map(([name, property]) => [
          name,
          required.has(name)
            ? valueFor(document, property)
            : fc.option(valueFor(document, property), { nil: undefined }),
        ]),
      );
      return fc
        .record(record)
        .map((value) => Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)));
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** One operation of the document, as the fuzz drives it. */
export interface Operation {
  method: string;
  path: string;
  /** The scopes its security requirement names; empty for a public operation. */
  scopes: string[];
  pathParameters: { name: string; schema: JsonObject }[];
  queryParameters: { name: string; schema: JsonObject }[];
  body: JsonObject | undefined;
}

/** Every operation in the document. */
export function operationsOf(document: OpenApiDocument): Operation[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => {
      const parameters = ((operation.parameters ?? []) as JsonObject[]).map((p) => resolve(document, p));
      const security = (operation.security ?? []) as Record<string, string[]>[];
      const requestBody = operation.requestBody as { content?: Record<string, { schema?: JsonObject }> } | undefined;
      const parameterOf = (where: string) =>
        parameters
          .filter((parameter) => parameter.in === where)
          .map((parameter) => ({ name: parameter.name as string, schema: parameter.schema as JsonObject }));
      return {
        method: method.toUpperCase(),
        path,
        scopes: security.flatMap((requirement) => Object.values(requirement).flat()),
        pathParameters: parameterOf('path'),
        queryParameters: parameterOf('query'),
        body: requestBody?.content?.['application/json']?.schema,
      };
    }),
  );
}
