/**
 * Bad input, tried at scale: thousands of generated requests against every route. Each
 * answer must be a success or a problem+json error the route declares (never a 5xx), and a
 * rejected request (or any GET) must leave everything stored as it was. See README.md for
 * FUZZ_RUNS and for replaying a failure from its seed.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, it } from 'vitest';
import { useApiDatabase } from '../support/api.ts';
import {
  awkwardBody,
  contentType,
  deepBody,
  extraHeaders,
  jsonBody,
  pathId,
  queryPairs,
  unmatchedRequest,
} from './arbitraries.ts';
import {
  BODY_ROUTE_KEYS,
  catchAllRoute,
  describeRequest,
  type FuzzRequest,
  FuzzWorld,
  fuzzParameters,
  ID_ROUTE_KEYS,
  LIST_ROUTE_KEYS,
  propertyTimeout,
  ROUTE_KEYS,
  routeByKey,
} from './harness.ts';

const database = useApiDatabase('fuzz_api');
const world = new FuzzWorld(() => database.dbName);

beforeAll(() => world.open());
afterAll(() => world.close());
beforeEach(() => world.reset());

function resourceKind(routeKey: string): 'service' | 'order' {
  return routeKey.includes('/orders') ? 'order' : 'service';
}

function hasId(routeKey: string): boolean {
  return routeByKey(routeKey).path.includes('{id}');
}

/**
 * Drops undefined parts and gives the request a compact printed form, so the counterexample
 * fast-check reports shows what was sent with long runs (deep nesting, padding) abbreviated.
 */
function request(parts: FuzzRequest): FuzzRequest {
  const sent = Object.fromEntries(Object.entries(parts).filter(([, value]) => value !== undefined)) as FuzzRequest;
  return Object.defineProperty(sent, fc.toStringMethod, { value: () => describeRequest(sent), enumerable: false });
}

const optionalHeaders = fc.option(extraHeaders, { nil: undefined, freq: 3 });

/** For each route key, a request built by `parts`, picked uniformly across the keys. */
function onRoutes(
  keys: readonly string[],
  parts: (key: string) => fc.Arbitrary<FuzzRequest>,
): fc.Arbitrary<FuzzRequest> {
  return fc.oneof(...keys.map(parts));
}

async function fuzz(requests: fc.Arbitrary<FuzzRequest>): Promise<void> {
  await fc.assert(
    fc.asyncProperty(requests, (generated) => world.check(generated)),
    fuzzParameters(),
  );
}

describe('fuzzing every route with bad input', () => {
  it(
    'answers any JSON body (valid, one field off, or any value) with success or a declared problem, and a rejected one stores nothing',
    async () => {
      await fuzz(
        onRoutes(BODY_ROUTE_KEYS, (routeKey) =>
          fc
            .record({
              body: jsonBody(resourceKind(routeKey)),
              id: hasId(routeKey) ? pathId(resourceKind(routeKey)) : fc.constant(undefined),
              headers: optionalHeaders,
            })
            .map((parts) => request({ routeKey, ...parts })),
        ),
      );
    },
    propertyTimeout(),
  );

  it(
    'answers bodies nested hundreds to thousands of levels deep with a 400 problem, never a stack overflow, and stores nothing',
    async () => {
      await fuzz(
        onRoutes(BODY_ROUTE_KEYS, (routeKey) =>
          fc
            .record({ body: deepBody, id: hasId(routeKey) ? pathId(resourceKind(routeKey)) : fc.constant(undefined) })
            .map((parts) => request({ routeKey, ...parts })),
        ),
      );
    },
    propertyTimeout(),
  );

  it(
    'answers oversized, non-JSON, base64 and mislabelled bodies on every route without a 5xx, and a rejected one stores nothing',
    async () => {
      await fuzz(
        fc
          .oneof(
            { weight: 3, arbitrary: fc.constantFrom(...BODY_ROUTE_KEYS) },
            { weight: 1, arbitrary: fc.constantFrom(...ROUTE_KEYS) },
          )
          .chain((routeKey) =>
            fc
              .record({
                body: awkwardBody(resourceKind(routeKey)),
                base64: fc.option(fc.constant(true), { nil: undefined, freq: 3 }),
                id: hasId(routeKey) ? pathId(resourceKind(routeKey)) : fc.constant(undefined),
                contentType: fc.option(contentType, { nil: undefined, freq: 2 }),
                headers: optionalHeaders,
              })
              .map(({ contentType: type, headers, ...parts }) =>
                request({
                  routeKey,
                  ...parts,
                  ...((type !== undefined || headers !== undefined) && {
                    headers: { ...headers, ...(type !== undefined && { 'content-type': type }) },
                  }),
                }),
              ),
          ),
      );
    },
    propertyTimeout(),
  );

  it(
    'answers odd path ids ($ operators, dots, NUL, 65+ characters, unicode, empty) on every /{id} route without a 5xx, and a rejected one stores nothing',
    async () => {
      await fuzz(
        onRoutes(ID_ROUTE_KEYS, (routeKey) =>
          fc
            .record({
              id: pathId(resourceKind(routeKey)),
              body: routeByKey(routeKey).method === 'PUT' ? jsonBody(resourceKind(routeKey)) : fc.constant(undefined),
              headers: optionalHeaders,
            })
            .map((parts) => request({ routeKey, ...parts })),
        ),
      );
    },
    propertyTimeout(),
  );

  it(
    'answers odd query strings (bad limits, random cursors, garbage dates, repeated and unknown parameters) with a page or a 400 problem',
    async () => {
      await fuzz(
        fc
          .oneof(
            { weight: 4, arbitrary: fc.constantFrom(...LIST_ROUTE_KEYS) },
            { weight: 1, arbitrary: fc.constantFrom(...ROUTE_KEYS) },
          )
          .chain((routeKey) =>
            fc
              .record({
                query: queryPairs,
                id: hasId(routeKey) ? pathId(resourceKind(routeKey)) : fc.constant(undefined),
                body:
                  routeByKey(routeKey).method === 'POST' || routeByKey(routeKey).method === 'PUT'
                    ? jsonBody(resourceKind(routeKey))
                    : fc.constant(undefined),
              })
              .map((parts) => request({ routeKey, ...parts })),
          ),
      );
    },
    propertyTimeout(),
  );

  it(
    'answers every method and path no route matches with a 404 problem and stores nothing',
    async () => {
      await fuzz(
        fc
          .record({
            unmatched: unmatchedRequest,
            body: fc.option(awkwardBody('order'), { nil: undefined, freq: 2 }),
            query: fc.option(queryPairs, { nil: undefined, freq: 2 }),
          })
          .map(({ unmatched, ...parts }) => request({ routeKey: catchAllRoute.key, ...unmatched, ...parts })),
      );
    },
    propertyTimeout(),
  );
});
