/**
 * openapi.json is as strict as the server: what the document calls valid, the server does not
 * refuse with a 400. Two sides of it:
 * - every example the document shows (parameters, headers, body fields, error responses) is one
 *   the server accepts, or, for an error, one it sends;
 * - requests generated from the document's own schemas (fast-check, tests/fuzz/openapiSchemas.ts)
 *   are never answered 400. A 404, 409, 412 or 422 is the data speaking, not the schema.
 * Rules JSON Schema cannot state are in RULES_IN_PROSE (tests/fuzz/validRequests.ts), each also written in the document's
 * 400 descriptions; the generator follows them, and nothing else.
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROBLEMS } from '#lib/http/problems';
import { routes } from '#lib/http/routes';
import { SAMPLE_ORDERS, SAMPLE_SERVICES } from '#lib/schemas/samples';
import { type OpenApiDocument, type Operation, operationsOf } from '../fuzz/openapiSchemas.ts';
import { RULES_IN_PROSE, validRequest } from '../fuzz/validRequests.ts';
import { api, handlers, useApiDatabase } from '../support/api.ts';
import { invoke, type TestRequest, type TestResponse } from '../support/apiEvents.ts';

useApiDatabase('document_matches_server');

type JsonObject = { [key: string]: unknown };
const document = JSON.parse(readFileSync(new URL('../../openapi.json', import.meta.url), 'utf8')) as OpenApiDocument;
const operations = operationsOf(document);

/** Generated requests per operation: FUZZ_RUNS (`npm run fuzz`) or a quick pass in `npm test`. */
const RUNS_PER_OPERATION = Number(process.env.FUZZ_RUNS) > 0 ? Math.ceil(Number(process.env.FUZZ_RUNS) / 5) : 40;

function resolve(node: JsonObject): JsonObject {
  let current = node;
  while (typeof current.$ref === 'string') {
    current = current.$ref
      .slice(2)
      .split('/')
      .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'))
      .reduce<JsonObject>((target, segment) => target[segment] as JsonObject, document);
  }
  return current;
}

function operationObject(operation: Operation): JsonObject {
  return document.paths[operation.path]?.[operation.method.toLowerCase()] as JsonObject;
}

function handlerFor(operation: Operation) {
  const route = routes.find((candidate) => candidate.method === operation.method && candidate.path === operation.path);
  if (!route) throw new Error(`No route for ${operation.method} ${operation.path}`);
  return handlers[route.functionName as keyof typeof handlers];
}

/** Every example a parameter or schema shows: `example`, `examples` (array or map) and its schema's. */
function examplesOf(node: JsonObject): unknown[] {
  const found: unknown[] = [];
  if ('example' in node) found.push(node.example);
  if (Array.isArray(node.examples)) found.push(...node.examples);
  else if (node.examples && typeof node.examples === 'object') {
    found.push(...Object.values(node.examples as Record<string, JsonObject>).map((example) => example.value));
  }
  if (node.schema && typeof node.schema === 'object') found.push(...examplesOf(resolve(node.schema as JsonObject)));
  return found;
}

/** The first example of a parameter, as /docs "Try it out" fills it in. */
function firstExample(parameter: JsonObject): string {
  const [example] = examplesOf(parameter);
  if (example === undefined) throw new Error(`parameter ${String(parameter.name)} has no example`);
  return String(example);
}

/** The request /docs fills in from the document's examples (required parameters only). */
function exampleRequest(operation: Operation): TestRequest {
  const parameters = ((operationObject(operation).parameters ?? []) as JsonObject[]).map(resolve);
  const valuesIn = (where: string, all: boolean) =>
    Object.fromEntries(
      parameters
        .filter((parameter) => parameter.in === where && (all || parameter.required === true))
        .map((parameter) => [parameter.name as string, firstExample(parameter)]),
    );
  const media = (operationObject(operation).requestBody as JsonObject | undefined)?.content as
    | Record<string, JsonObject>
    | undefined;
  const body = media?.['application/json']?.example;
  return {
    method: operation.method,
    route: operation.path,
    pathParameters: valuesIn('path', true),
    query: valuesIn('query', false),
    ...(body !== undefined && { body }),
  };
}

/**
 * (pointer, examples) for every property of a body schema that shows examples, pointing into the
 * body example (arrays at their first item).
 */
function bodyFieldExamples(schema: JsonObject, pointer: string[] = []): { pointer: string[]; examples: unknown[] }[] {
  const resolved = resolve(schema);
  const own = Array.isArray(resolved.examples) && pointer.length > 0 ? [{ pointer, examples: resolved.examples }] : [];
  const children = [
    ...Object.entries((resolved.properties ?? {}) as Record<string, JsonObject>).flatMap(([name, property]) =>
      bodyFieldExamples(property, [...pointer, name]),
    ),
    ...(resolved.items ? bodyFieldExamples(resolved.items as JsonObject, [...pointer, '0']) : []),
    ...((resolved.anyOf ?? []) as JsonObject[]).flatMap((branch) => bodyFieldExamples(branch, pointer)),
  ];
  return [...own, ...children];
}

function withValueAt(body: unknown, pointer: string[], value: unknown): unknown {
  const copy = structuredClone(body) as JsonObject;
  let node: JsonObject = copy;
  for (const segment of pointer.slice(0, -1)) {
    node[segment] ??= {};
    node = node[segment] as JsonObject;
  }
  node[pointer.at(-1) as string] = value;
  return copy;
}

/** What a 400 said, for the failure message. */
function shown(request: TestRequest, response: TestResponse): string {
  return `${request.method} ${request.route} ${JSON.stringify({ ...request, method: undefined, route: undefined })} answered ${response.status}: ${response.rawBody}`;
}

beforeAll(async () => {
  // What `npm run seed` loads: the examples name these records.
  for (const service of SAMPLE_SERVICES) expect((await api.createService(service)).status).toBe(201);
  for (const order of SAMPLE_ORDERS) expect((await api.createOrder(order)).status).toBe(201);
});

const apiOperations = operations.filter((operation) => operation.scopes.length > 0);

describe('every example in openapi.json', () => {
  it('is accepted by the server: each parameter, header and body-field example, alone in the example request, is not a 400', async () => {
    let tried = 0;
    for (const operation of apiOperations) {
      const handler = handlerFor(operation);
      const base = exampleRequest(operation);
      const send = async (sent: TestRequest) => {
        const request = RULES_IN_PROSE.bodyIdIsPathId(sent);
        tried++;
        const response = await invoke(handler, request);
        expect(response.status, shown(request, response)).not.toBe(400);
        expect(response.status, shown(request, response)).toBeLessThan(500);
      };
      await send(base);
      for (const parameter of ((operationObject(operation).parameters ?? []) as JsonObject[]).map(resolve)) {
        for (const example of examplesOf(parameter)) {
          const value = String(example);
          const name = parameter.name as string;
          if (parameter.in === 'path')
            await send({ ...base, pathParameters: { ...base.pathParameters, [name]: value } });
          else if (parameter.in === 'query') await send({ ...base, query: { ...base.query, [name]: value } });
          else await send({ ...base, headers: { [name]: value } });
        }
      }
      if (operation.body) {
        for (const { pointer, examples } of bodyFieldExamples(operation.body)) {
          for (const example of examples) await send({ ...base, body: withValueAt(base.body, pointer, example) });
        }
      }
    }
    // Each API operation's example request, and the parameter and field examples on top.
    expect(tried).toBeGreaterThan(apiOperations.length * 2);
  });

  it('of an error comes from the only table of problems: no code outside lib/http/problems.ts writes a type or builds one', () => {
    const root = new URL('../../', import.meta.url);
    const sources = ['lib', 'functions'].flatMap((folder) =>
      readdirSync(new URL(folder, root), { recursive: true, encoding: 'utf8' })
        .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))
        .map((name) => `${folder}/${name}`)
        .filter((path) => path !== 'lib/http/problems.ts'),
    );
    expect(sources.length).toBeGreaterThan(50);
    const offenders = sources.filter((path) =>
      /'\/problems\/|'about:blank'|new HttpProblem\(/.test(readFileSync(new URL(path, root), 'utf8')),
    );
    expect(offenders).toEqual([]);
  });

  it('of an error is a problem the server sends: its type, title and status are an entry of PROBLEMS', () => {
    const kinds = Object.values(PROBLEMS).map(({ type, title, status }) => JSON.stringify({ type, title, status }));
    const seen: string[] = [];
    const visit = (node: unknown, pointer: string) => {
      if (node === null || typeof node !== 'object') return;
      const media = (node as JsonObject)['application/problem+json'] as JsonObject | undefined;
      if (media) {
        for (const example of examplesOf({ ...media, schema: undefined }) as JsonObject[]) {
          const { type, title, status } = example;
          expect(kinds, `${pointer}: ${JSON.stringify(example)}`).toContain(JSON.stringify({ type, title, status }));
          seen.push(String(type));
        }
      }
      for (const [key, child] of Object.entries(node)) visit(child, `${pointer}/${key}`);
    };
    visit(document, '#');
    for (const type of ['/problems/unauthorized', '/problems/insufficient-scope', '/problems/validation-error']) {
      expect(seen).toContain(type);
    }
  });
});

describe('requests generated from the schemas of openapi.json', () => {
  for (const operation of apiOperations) {
    it(`are never refused with a 400 by ${operation.method} ${operation.path}`, async () => {
      const handler = handlerFor(operation);
      await fc.assert(
        fc.asyncProperty(validRequest(document, operation), async (request) => {
          const response = await invoke(handler, request);
          expect(response.status, shown(request, response)).not.toBe(400);
          expect(response.status, shown(request, response)).toBeLessThan(500);
        }),
        { numRuns: RUNS_PER_OPERATION, interruptAfterTimeLimit: 50_000 },
      );
    }, 60_000);
  }
});
