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

/**
 * The static segments of the document's paths (`services`, `availability`, …): a fuzzer's
 * dictionary. Strings a schema allows get them often, since a word the router also reads is
 * where a path id and a route collide; random strings would almost never hit one.
 */
function pathWords(document: OpenApiDocument): string[] {
  const words = Object.keys(document.paths).flatMap((path) => path.split('/'));
  return [...new Set(words.filter((word) => word !== '' && !word.startsWith('{')))];
}

const pad = (value: number) => String(value).padStart(2, '0');

/**
 * RFC 3339 date-times in the forms the `date-time` format allows: `Z`, `z` or an offset, `T`, `t`
 * or a space, 0 to 9 fraction digits, and now and then a leap second (`23:59:60Z`). The instant
 * stays within years 0001 to 9998 in UTC, inside the API's documented range whatever the offset.
 */
function dateTimeArbitrary(): fc.Arbitrary<string> {
  const instant = fc.date({
    min: new Date('0001-01-02T00:00:00Z'),
    max: new Date('9998-12-30T00:00:00Z'),
    noInvalidDate: true,
  });
  const regular = fc
    .record({
      instant,
      offsetMinutes: fc.oneof(fc.constant(0), fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 })),
      utc: fc.constantFrom('Z', 'z', '+00:00', '-00:00'),
      separator: fc.constantFrom('T', 't', ' '),
      fractionDigits: fc.integer({ min: 0, max: 9 }),
    })
    .map(({ instant: at, offsetMinutes, utc, separator, fractionDigits }) => {
      const local = new Date(at.getTime() + offsetMinutes * 60_000).toISOString();
      const fraction = fractionDigits === 0 ? '' : `.${`${local.slice(20, 23)}000000`.slice(0, fractionDigits)}`;
      const size = Math.abs(offsetMinutes);
      const zone =
        offsetMinutes === 0 ? utc : `${offsetMinutes < 0 ? '-' : '+'}${pad(Math.floor(size / 60))}:${pad(size % 60)}`;
      return `${local.slice(0, 10)}${separator}${local.slice(11, 19)}${fraction}${zone}`;
    });
  const leapSecond = instant.map((at) => `${at.toISOString().slice(0, 10)}T23:59:60Z`);
  return fc.oneof({ weight: 9, arbitrary: regular }, { weight: 1, arbitrary: leapSecond });
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

/** True when `value` is one of the values a `not` subschema of the kind the document uses (`enum`, `const`) names. */
function excludedBy(not: JsonObject, value: unknown): boolean {
  if (Array.isArray(not.enum)) return not.enum.some((excluded) => JSON.stringify(excluded) === JSON.stringify(value));
  if ('const' in not) return JSON.stringify(not.const) === JSON.stringify(value);
  throw new Error(`valueFor cannot generate around this 'not': ${JSON.stringify(not)}`);
}

/** True when the schema asks for unique items, directly or behind the `if: { maxItems }` the document uses. */
function wantsUniqueItems(schema: JsonObject): boolean {
  if (schema.uniqueItems === true) return true;
  const ifSchema = schema.if as JsonObject | undefined;
  const thenSchema = schema.then as JsonObject | undefined;
  if (ifSchema === undefined && thenSchema === undefined) return false;
  if (ifSchema?.maxItems === schema.maxItems && Object.keys(ifSchema ?? {}).length === 1 && thenSchema?.uniqueItems) {
    return true;
  }
  throw new Error(`valueFor cannot generate for this if/then: ${JSON.stringify([ifSchema, thenSchema])}`);
}

/**
 * Values that satisfy `schema` (types, patterns, date-time, ranges, required and optional
 * properties, `not` of an enum, unique items). A `not` or `if` it cannot honour throws rather
 * than being ignored.
 */
export function valueFor(document: OpenApiDocument, node: JsonObject): fc.Arbitrary<unknown> {
  const schema = resolve(document, node);
  if (schema.not !== undefined) {
    const { not, ...rest } = schema;
    return valueFor(document, rest).filter((value) => !excludedBy(not as JsonObject, value));
  }
  if (Array.isArray(schema.anyOf)) return fc.oneof(...(schema.anyOf as JsonObject[]).map((s) => valueFor(document, s)));
  if ('const' in schema) return fc.constant(schema.const);
  switch (schema.type) {
    case 'string': {
      if (schema.format === 'date-time') {
        const pattern = typeof schema.pattern === 'string' ? new RegExp(schema.pattern) : undefined;
        return pattern ? dateTimeArbitrary().filter((value) => pattern.test(value)) : dateTimeArbitrary();
      }
      const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
      const maxLength = typeof schema.maxLength === 'number' ? Math.min(schema.maxLength, 80) : 40;
      if (typeof schema.pattern === 'string' && schema.pattern.startsWith('^')) {
        const longest = typeof schema.maxLength === 'number' ? schema.maxLength : Number.POSITIVE_INFINITY;
        const pattern = new RegExp(schema.pattern);
        const fits = (s: string) => s.length >= minLength && s.length <= longest && pattern.test(s);
        const random = fc.stringMatching(pattern).filter(fits);
        const words = pathWords(document).filter(fits);
        return words.length === 0
          ? random
          : fc.oneof({ weight: 4, arbitrary: random }, { weight: 1, arbitrary: fc.constantFrom(...words) });
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
      return wantsUniqueItems(schema)
        ? fc.uniqueArray(item, { minLength, maxLength, selector: (value) => JSON.stringify(value) })
        : fc.array(item, { minLength, maxLength });
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
  queryParameters: { name: string; schema: JsonObject; required: boolean }[];
  headerParameters: { name: string; schema: JsonObject; required: boolean }[];
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
          .map((parameter) => ({
            name: parameter.name as string,
            schema: parameter.schema as JsonObject,
            required: parameter.required === true,
          }));
      return {
        method: method.toUpperCase(),
        path,
        scopes: security.flatMap((requirement) => Object.values(requirement).flat()),
        pathParameters: parameterOf('path'),
        queryParameters: parameterOf('query'),
        headerParameters: parameterOf('header'),
        body: requestBody?.content?.['application/json']?.schema,
      };
    }),
  );
}
