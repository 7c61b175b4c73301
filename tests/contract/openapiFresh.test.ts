import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { publicRoutes, routes } from '#lib/http/routes';
import { buildOpenApiDocument, type JsonObject } from '#lib/openapi/document';
import { validateOrderInput, validateServiceInput } from '#lib/schemas/bodyValidators';

const committed = JSON.parse(readFileSync(new URL('../../openapi.json', import.meta.url), 'utf8')) as JsonObject;

/** Every `$ref` string anywhere in a JSON value. */
function refsIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refsIn);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) =>
    key === '$ref' && typeof child === 'string' ? [child] : refsIn(child),
  );
}

function at(document: JsonObject, pointer: string): unknown {
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<unknown>((node, segment) => (node as JsonObject | undefined)?.[segment], document);
}

describe('openapi.json', () => {
  it('is what the schemas and the route table generate (run `npm run openapi` after changing them)', () => {
    // Compared as data, not text: the file is formatted by biome.
    expect(committed).toEqual(buildOpenApiDocument());
  });

  it('describes every route of the route table, once, with its operationId', () => {
    const paths = committed.paths as Record<string, Record<string, JsonObject>>;
    for (const route of [...routes, ...publicRoutes]) {
      expect(paths[route.path]?.[route.method.toLowerCase()]?.operationId, `${route.method} ${route.path}`).toBe(
        route.operationId,
      );
    }
    const operationIds = Object.values(paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
    expect(operationIds).toHaveLength(routes.length + publicRoutes.length);
    expect(new Set(operationIds).size).toBe(operationIds.length);
  });

  it('has no dangling $ref', () => {
    for (const ref of new Set(refsIn(committed))) {
      expect(ref.startsWith('#/'), ref).toBe(true);
      expect(at(committed, ref.slice(1)), ref).toBeDefined();
    }
  });

  it('requires each API operation’s scope and no token for the documentation', () => {
    const paths = committed.paths as Record<string, Record<string, JsonObject>>;
    for (const route of routes) {
      expect(paths[route.path]?.[route.method.toLowerCase()]?.security).toEqual([
        { oauth2: [route.scope] },
        { bearerAuth: [] },
      ]);
    }
    for (const route of publicRoutes) expect(paths[route.path]?.[route.method.toLowerCase()]?.security).toEqual([]);
  });

  it('gives each request body an example that the API’s own validator accepts', () => {
    const validators = { OrderInput: validateOrderInput, ServiceInput: validateServiceInput };
    const paths = committed.paths as Record<string, Record<string, JsonObject>>;
    for (const route of routes.filter((candidate) => candidate.body)) {
      const operation = paths[route.path]?.[route.method.toLowerCase()];
      const media = (operation?.requestBody as JsonObject | undefined)?.content as Record<string, JsonObject>;
      const example = media['application/json']?.example;
      expect(example, `${route.method} ${route.path}`).toBeDefined();
      const validate = validators[route.body as keyof typeof validators];
      expect(validate(example), `${JSON.stringify(example)}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('has examples that match their schemas', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema(committed, 'openapi.json');
    // Every media type object with an example (request bodies, responses), by JSON pointer.
    const withExamples: { pointer: string[]; example: unknown }[] = [];
    const visit = (node: unknown, pointer: string[]) => {
      if (node === null || typeof node !== 'object') return;
      const object = node as JsonObject;
      if ('schema' in object && 'example' in object) withExamples.push({ pointer, example: object.example });
      // A media type's named examples (several kinds of problem for one status).
      if ('schema' in object && object.examples && typeof object.examples === 'object') {
        for (const named of Object.values(object.examples as Record<string, JsonObject>)) {
          withExamples.push({ pointer, example: named.value });
        }
      }
      for (const [key, child] of Object.entries(object)) visit(child, [...pointer, key]);
    };
    visit(committed, []);
    expect(withExamples.length).toBeGreaterThan(10);
    for (const { pointer, example } of withExamples) {
      const fragment = [...pointer, 'schema']
        .map((segment) => `/${encodeURIComponent(segment.replaceAll('~', '~0').replaceAll('/', '~1'))}`)
        .join('');
      const validate = ajv.compile({ $ref: `openapi.json#${fragment}` });
      expect(validate(example), `${fragment}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });
});
