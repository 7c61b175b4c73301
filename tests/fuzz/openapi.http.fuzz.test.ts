/**
 * The schema-driven fuzz over HTTP: requests generated from openapi.json for every operation
 * (valid and invalid bodies, odd path ids including bad percent-encoding, odd query strings and
 * headers) sent to serverless-offline, the same stack `npm start` runs. Every answer must be
 * below 500, every error application/problem+json with its status in the body, and every
 * response one the document allows. FUZZ_HTTP_RUNS sets the number of requests (default three
 * times FUZZ_RUNS: 300 in `npm test`, 9,000 in `npm run fuzz`).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestRequest } from '../support/apiEvents.ts';
import { bearer } from '../support/auth.ts';
import { assertResponseMatchesContract } from '../support/contract.ts';
import { testMongoUri, uniqueDbName } from '../support/mongo.ts';
import { type OfflineApi, sendOverHttp, startOffline } from '../support/offline.ts';
import { SAMPLE_ORDERS, SAMPLE_SERVICES } from '../support/samples.ts';
import { FUZZ_RUNS, fuzzParameters } from './harness.ts';
import { type OpenApiDocument, type Operation, operationsOf, valueFor } from './openapiSchemas.ts';
import { validRequest } from './validRequests.ts';

const RUNS = Number(process.env.FUZZ_HTTP_RUNS) > 0 ? Number(process.env.FUZZ_HTTP_RUNS) : FUZZ_RUNS * 3;
const document = JSON.parse(readFileSync(new URL('../../openapi.json', import.meta.url), 'utf8')) as OpenApiDocument;
const operations = operationsOf(document);

let offline: OfflineApi;
let tokens: Record<'all' | 'readOnly', string>;

beforeAll(async () => {
  offline = await startOffline({ MONGODB_URI: testMongoUri(), MONGODB_DATABASE: uniqueDbName('fuzz_http') });
  tokens = {
    all: await bearer(),
    readOnly: await bearer({ scopes: ['orders:read', 'services:read'] }),
  };
  // A few records for ids to hit: the seeded ones.
  for (const [collection, body] of [
    ['services', SAMPLE_SERVICES[0]],
    ['orders', SAMPLE_ORDERS[0]],
  ] as const) {
    const created = await sendOverHttp(offline.baseUrl, 'POST', `/${collection}`, body);
    if (created.status !== 201) throw new Error(`seeding ${collection} answered ${created.status}`);
  }
}, 150_000);

afterAll(async () => {
  await offline?.stop();
});

/** A request as sent: the raw path (ids already encoded, or deliberately not), headers and body text. */
interface HttpRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const oddPathId = fc.constantFrom(
  '%ZZ',
  '%C0%AF',
  '%FF',
  '%',
  '%00',
  '%24gt',
  '%7B%22%24gt%22%3A%22%22%7D',
  'a.b',
  '..',
  '.',
  '__proto__',
  'x'.repeat(65),
  'x'.repeat(2_000),
  '%E2%82%AC',
  '123',
  '223',
);

function pathIdFor(schema: { [key: string]: unknown }): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: valueFor(document, schema).map((value) => encodeURIComponent(String(value))) },
    { weight: 3, arbitrary: oddPathId },
    { weight: 1, arbitrary: fc.string({ maxLength: 20 }).map((value) => encodeURIComponent(value)) },
  );
}

function queryFor(operation: Operation): fc.Arbitrary<string> {
  const valid = fc
    .tuple(
      ...operation.queryParameters.map((parameter) =>
        fc.option(
          valueFor(document, parameter.schema).map((value) => `${parameter.name}=${encodeURIComponent(String(value))}`),
          { nil: undefined },
        ),
      ),
    )
    .map((pairs) => pairs.filter((pair) => pair !== undefined).join('&'));
  const odd = fc.constantFrom(
    'limit=-1',
    'limit=1e3',
    'limit=0x10',
    'limit=101',
    'limit=',
    'cursor=!!!',
    'cursor=%FF',
    'from=garbage',
    'from=2022-13-45T00:00:00Z&to=x',
    'unknown=1',
    '%ZZ=1',
    'limit=1&limit=2',
    '__proto__=1',
    'a'.repeat(5_000),
  );
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant('') },
    { weight: 3, arbitrary: valid },
    { weight: 2, arbitrary: odd },
  );
}

const HUGE = 70 * 1024;

function bodyFor(operation: Operation): fc.Arbitrary<string | undefined> {
  const awkward = fc.constantFrom(
    undefined,
    '',
    'null',
    'null ',
    'false',
    '""',
    '0',
    '[]',
    '"x"',
    '{',
    '1e999',
    '{"name":"x","totalfee":1.0000000000000001}',
    `{"name":"${'x'.repeat(HUGE)}"}`,
    `{"name":"${'x'.repeat(60 * 1024)}"}`,
    `${'['.repeat(5_000)}${']'.repeat(5_000)}`,
  );
  if (!operation.body)
    return fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: awkward });
  const valid = valueFor(document, operation.body) as fc.Arbitrary<Record<string, unknown>>;
  const mutated = fc
    .tuple(valid, fc.nat(), fc.jsonValue({ maxDepth: 1 }), fc.constantFrom('colour', '__proto__', '$set', 'totalFee'))
    .map(([value, pick, replacement, extra]) => {
      const keys = Object.keys(value);
      const key = keys[pick % Math.max(keys.length, 1)];
      const mode = pick % 3;
      if (mode === 0 && key !== undefined) delete value[key];
      else if (mode === 1 && key !== undefined) value[key] = replacement;
      else value[extra] = replacement;
      return JSON.stringify(value);
    });
  return fc.oneof(
    { weight: 4, arbitrary: valid.map((value) => JSON.stringify(value)) },
    { weight: 3, arbitrary: mutated },
    { weight: 3, arbitrary: awkward },
  );
}

const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'json',
      'text/plain',
      'application/merge-patch+json',
      'application/x-www-form-urlencoded',
      'multipart/form-data',
      '',
    ),
  },
);

const oddHeaders = fc.record(
  {
    'if-match': fc.constantFrom('*', '"1"', 'W/"1"', 'garbage', '"999"', '"1", "2"', ''),
    'idempotency-key': fc.stringMatching(/^[\x21-\x7e]{0,300}$/),
    'x-http-method-override': fc.constantFrom('DELETE', 'PATCH'),
    accept: fc.constantFrom('application/xml', '*/*', 'text/html'),
  },
  { requiredKeys: [] },
);

function requestFor(operation: Operation): fc.Arbitrary<HttpRequest> {
  return fc
    .record({
      ids: fc.tuple(...operation.pathParameters.map((parameter) => pathIdFor(parameter.schema))),
      query: queryFor(operation),
      body: operation.method === 'GET' ? fc.constant(undefined) : bodyFor(operation),
      contentType,
      auth: fc.constantFrom('all', 'all', 'all', 'readOnly', 'none', 'garbage'),
      headers: fc.option(oddHeaders, { nil: undefined, freq: 3 }),
    })
    .map(({ ids, query, body, contentType: type, auth, headers }) => {
      let index = 0;
      const path = operation.path.replace(/\{[^}]+\}/g, () => ids[index++] ?? 'x');
      const sent: Record<string, string> = { ...headers };
      if (auth === 'all' || auth === 'readOnly') sent.authorization = tokens[auth];
      if (auth === 'garbage') sent.authorization = 'Bearer not.a.token';
      if (body !== undefined && type !== '') sent['content-type'] = type;
      return { method: operation.method, path: query ? `${path}?${query}` : path, headers: sent, body };
    });
}

const unmatched = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
  path: fc.constantFrom(
    '/',
    '/nothing-here',
    '/orders/1/items',
    '/services/',
    '//orders',
    '/ORDERS',
    '/docs/%ZZ',
    '/%FF',
  ),
  headers: fc.constant({} as Record<string, string>),
});

/** Sends a request to serverless-offline as a client would, and reads the whole answer. */
async function send(request: HttpRequest): Promise<{ response: Response; text: string }> {
  const response = await fetch(`${offline.baseUrl}${request.path}`, {
    method: request.method,
    headers: request.headers,
    ...(request.body !== undefined && { body: request.body }),
    signal: AbortSignal.timeout(15_000),
  });
  return { response, text: await response.text() };
}

/** Sends a request and checks the answer: no 5xx, problem+json errors, and what the document allows. */
async function check(request: HttpRequest): Promise<void> {
  const { response, text } = await send(request);
  const type = response.headers.get('content-type') ?? '';
  const body = /json/.test(type) && text ? JSON.parse(text) : text;
  const shown = `${request.method} ${request.path.slice(0, 200)} answered ${response.status}: ${text.slice(0, 300)}`;
  expect(response.status, shown).toBeLessThan(500);
  if (response.status >= 400) {
    expect(type, shown).toBe('application/problem+json');
    expect((body as { status?: unknown }).status, shown).toBe(response.status);
  }
  // The check follows the path the server received: fetch removes dot segments as URLs do (a
  // generated id `.` sends `/orders/` and `..` sends `/`), and serverless-offline's router strips
  // one trailing slash (`/docs/` is `/docs`).
  const [, query] = request.path.split('?');
  const pathOnly = new URL(`${offline.baseUrl}${request.path}`).pathname;
  const routed = pathOnly.length > 1 ? pathOnly.replace(/\/$/, '') : pathOnly;
  assertResponseMatchesContract(
    { method: request.method, path: query === undefined ? routed : `${routed}?${query}` },
    { status: response.status, headers: response.headers, body },
  );
}

/** A request valid by the document, as a client sends it over HTTP: path ids and the query percent-encoded, the body as JSON. */
function overHttp(request: TestRequest): HttpRequest {
  const path = request.route.replace(/\{(\w+)\}/g, (_match, name: string) =>
    encodeURIComponent(request.pathParameters?.[name] ?? ''),
  );
  const query = new URLSearchParams(request.query ?? {}).toString();
  const headers: Record<string, string> = { ...request.headers, authorization: tokens.all };
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  return {
    method: request.method,
    path: query ? `${path}?${query}` : path,
    headers,
    ...(request.body !== undefined && { body: JSON.stringify(request.body) }),
  };
}

describe('fuzzing openapi.json over HTTP through serverless-offline', () => {
  it(
    `never answers 400 to ${RUNS} requests that the document calls valid, the HTTP layer included`,
    async () => {
      const apiOperations = operations.filter((operation) => operation.scopes.length > 0);
      const requests = fc.oneof(...apiOperations.map((operation) => validRequest(document, operation).map(overHttp)));
      await fc.assert(
        fc.asyncProperty(requests, async (request) => {
          const { response, text } = await send(request);
          const shown = `${request.method} ${request.path} ${JSON.stringify(request.headers)} ${request.body ?? ''} answered ${response.status}: ${text.slice(0, 300)}`;
          expect(response.status, shown).not.toBe(400);
          expect(response.status, shown).toBeLessThan(500);
        }),
        { ...fuzzParameters(), numRuns: RUNS, interruptAfterTimeLimit: 60_000 + RUNS * 100 },
      );
    },
    120_000 + RUNS * 150,
  );

  it(
    `answers ${RUNS} generated requests to every operation without a 5xx, with problem+json errors, as the document allows`,
    async () => {
      const requests = fc.oneof(...operations.map((operation) => ({ weight: 4, arbitrary: requestFor(operation) })), {
        weight: 1,
        arbitrary: unmatched,
      });
      await fc.assert(fc.asyncProperty(requests, check), {
        ...fuzzParameters(),
        numRuns: RUNS,
        interruptAfterTimeLimit: 60_000 + RUNS * 100,
      });
    },
    120_000 + RUNS * 150,
  );
});
