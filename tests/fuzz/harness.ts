/**
 * What every fuzz property shares: the routes with the statuses each may answer, sending a
 * generated request through the test helpers, the checks every response must pass, and a
 * snapshot of what the database stores so a rejected request can be shown to change nothing.
 */
import { BSON, type Db, type MongoClient } from 'mongodb';
import { expect } from 'vitest';
import type { ApiHandler } from '#lib/http/httpHandler';
import { routes } from '#lib/http/routes';
import { handler as notFound } from '../../functions/notFound.ts';
import { api, handlers } from '../support/api.ts';
import { invoke, type TestRequest, type TestResponse } from '../support/apiEvents.ts';
import { connectTestClient } from '../support/mongo.ts';

/** Runs per property: FUZZ_RUNS when set (`npm run fuzz`), a quick pass otherwise (`npm test`). */
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS) > 0 ? Number(process.env.FUZZ_RUNS) : 100;

/** Replays a failure: the seed (and path) fast-check printed, see tests/fuzz/README.md. */
export function fuzzParameters(): { numRuns: number; seed?: number; path?: string; interruptAfterTimeLimit: number } {
  const seed = process.env.FUZZ_SEED;
  const path = process.env.FUZZ_PATH;
  return {
    numRuns: FUZZ_RUNS,
    ...(seed !== undefined && seed !== '' && { seed: Number(seed) }),
    ...(path !== undefined && path !== '' && { path }),
    // A failing property may shrink for a while; stop shrinking well before the test timeout.
    interruptAfterTimeLimit: propertyTimeout() - 10_000,
  };
}

/** The vitest timeout of one property: generous per run, so a slow machine does not fail a green run. */
export function propertyTimeout(): number {
  return 30_000 + FUZZ_RUNS * 40;
}

/** A request taking longer than this is reported as a hang. */
const HANG_MS = 5_000;

/** Statuses every route may answer besides its own (routes.ts): 500 and 503 are never acceptable here. */
const COMMON_ERROR_STATUSES = [400, 401, 403];

/** One route as the fuzzer drives it. */
export interface FuzzRoute {
  key: string;
  method: string;
  path: string;
  handler: ApiHandler;
  successStatus: number;
  errorStatuses: ReadonlySet<number>;
}

const apiRoutes: FuzzRoute[] = routes.map((route) => ({
  key: `${route.method} ${route.path}`,
  method: route.method,
  path: route.path,
  handler: handlers[route.functionName as keyof typeof handlers],
  successStatus: route.successStatus,
  errorStatuses: new Set([...COMMON_ERROR_STATUSES, ...route.errorStatuses]),
}));

/** The catch-all ($default) route: answers 404 for anything no route matches. */
export const catchAllRoute: FuzzRoute = {
  key: '$default',
  method: 'ANY',
  path: '/{proxy+}',
  handler: notFound,
  successStatus: 404,
  errorStatuses: new Set([...COMMON_ERROR_STATUSES, 404]),
};

/** Route keys, e.g. `PUT /orders/{id}`. */
export const ROUTE_KEYS = apiRoutes.map((route) => route.key);
export const BODY_ROUTE_KEYS = routes.filter((route) => route.body).map((route) => `${route.method} ${route.path}`);
export const ID_ROUTE_KEYS = routes
  .filter((route) => route.pathParameters)
  .map((route) => `${route.method} ${route.path}`);
export const LIST_ROUTE_KEYS = routes.filter((route) => route.query).map((route) => `${route.method} ${route.path}`);

export function routeByKey(key: string): FuzzRoute {
  const route = key === catchAllRoute.key ? catchAllRoute : apiRoutes.find((candidate) => candidate.key === key);
  if (!route) throw new Error(`no route ${key}`);
  return route;
}

/** A generated request, kept plain so fast-check prints it readably as a counterexample. */
export interface FuzzRequest {
  routeKey: string;
  /** Only for the catch-all: the method and raw path sent. */
  method?: string;
  rawPath?: string;
  id?: string;
  /** Query parameters in order; a repeated name is joined with commas, as API Gateway does. */
  query?: [string, string][];
  /** The body exactly as sent (already JSON text when it is JSON). */
  body?: string;
  /** Send the body base64-encoded with isBase64Encoded, as API Gateway does for binary media types. */
  base64?: boolean;
  /** Extra headers; `content-type: ''` removes the JSON content type the helper adds. */
  headers?: Record<string, string>;
}

/** Sends a generated request through tests/support's `invoke` (which adds the bearer token). */
export async function send(request: FuzzRequest): Promise<TestResponse> {
  const route = routeByKey(request.routeKey);
  const query = request.query && joinQuery(request.query);
  const testRequest: TestRequest = {
    method: request.method ?? route.method,
    route: request.rawPath === undefined ? route.path : wellFormed(request.rawPath),
    ...(request.id !== undefined && { pathParameters: { id: wellFormed(request.id) } }),
    ...(query && { query: query.parameters }),
    ...(request.body !== undefined && {
      body: request.base64 ? Buffer.from(request.body, 'utf8').toString('base64') : request.body,
    }),
    ...(request.headers && { headers: request.headers }),
  };
  // Adjust the event invoke() built (keeping every header it added) the way API Gateway would send it.
  const handler: ApiHandler = (event, context) => {
    if (request.base64) event.isBase64Encoded = true;
    if (query) event.rawQueryString = query.raw;
    if (request.rawPath !== undefined) event.routeKey = '$default';
    return route.handler(event, context);
  };
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${HANG_MS} ms (hang)`)), HANG_MS);
  });
  try {
    return await Promise.race([invoke(handler, testRequest), hang]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Lone surrogates become U+FFFD, as when API Gateway decodes a path or query string as UTF-8
 * (and encodeURIComponent in the helpers cannot encode them). Bodies are sent as generated.
 */
function wellFormed(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

function joinQuery(pairs: [string, string][]): { parameters: Record<string, string>; raw: string } {
  const parameters: Record<string, string> = {};
  const clean = pairs.map(([name, value]) => [wellFormed(name), wellFormed(value)] as const);
  for (const [name, value] of clean) {
    const joined = Object.hasOwn(parameters, name) ? `${parameters[name]},${value}` : value;
    Object.defineProperty(parameters, name, { value: joined, enumerable: true, writable: true, configurable: true });
  }
  const raw = clean.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&');
  return { parameters, raw };
}

/** A string with long repeated runs written as `⟨unit⟩×count`, e.g. 5000 levels of `[` as `⟨[⟩×5000`. */
export function abbreviate(text: string): string {
  return clip(
    text.replace(/(.{1,8}?)\1{15,}/gsu, (run: string, unit: string) => `⟨${unit}⟩×${run.length / unit.length}`),
    2_000,
  );
}

/** A generated request as a counterexample report shows it. */
export function describeRequest(request: FuzzRequest): string {
  return JSON.stringify(request, (key, value: unknown) =>
    typeof value === 'string' && key !== '' ? abbreviate(value) : value,
  );
}

function clip(text: string | undefined, max = 400): string {
  if (text === undefined) return '(none)';
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
}

/**
 * The contract every answer keeps: never a 5xx; a success is the route's success status;
 * an error is problem+json whose `status` is the HTTP status and one the route declares.
 */
export function expectWellFormedAnswer(request: FuzzRequest, response: TestResponse): void {
  const route = routeByKey(request.routeKey);
  const context = `${route.key} answered ${response.status} ${clip(response.rawBody)}`;
  expect(response.status, `no 5xx: ${context}`).toBeLessThan(500);
  if (response.status < 400) {
    expect(response.status, `success status: ${context}`).toBe(route.successStatus);
    return;
  }
  expect([...route.errorStatuses], `declared error status: ${context}`).toContain(response.status);
  expect(response.headers['content-type'], `problem+json: ${context}`).toMatch(/^application\/problem\+json\s*(;|$)/);
  const problem = response.body as Record<string, unknown> | null;
  expect(problem, `problem object: ${context}`).toBeTypeOf('object');
  expect(problem, `problem object: ${context}`).not.toBeNull();
  expect(typeof problem?.type, `problem.type: ${context}`).toBe('string');
  expect(typeof problem?.title, `problem.title: ${context}`).toBe('string');
  expect(typeof problem?.detail, `problem.detail: ${context}`).toBe('string');
  expect(problem?.status, `problem.status equals the HTTP status: ${context}`).toBe(response.status);
}

/** Collections whose changes a rejected request may legitimately cause. */
const UNTRACKED_COLLECTIONS = new Set(['idempotency_keys', 'order_window_locks']);

/** Every tracked collection's documents, by canonical (extended JSON) id, as canonical JSON. */
export type Snapshot = Map<string, Map<string, string>>;

/** Fixture records kept in the database so ids hit real records; see `FuzzWorld.restoreFixtures`. */
export const FIXTURE_SERVICES = [
  { id: 'svc-wash', name: 'Wash' },
  { id: 'svc-polish', name: 'Polish' },
  { id: 42, name: 'Numeric id' },
  { id: 'svc-unused', name: 'Referenced by no order' },
] as const;
export const FIXTURE_SERVICE_IDS = FIXTURE_SERVICES.map((service) => String(service.id));
export const FIXTURE_ORDERS = [
  { id: 'ord-1', datetime: '2031-01-01T09:00:00Z', totalfee: 100, services: [{ id: 'svc-wash' }] },
  {
    id: 'ord-2',
    datetime: '2031-01-02T09:00:00Z',
    totalfee: 0.07,
    services: [{ id: 'svc-wash' }, { id: 'svc-polish' }],
  },
  { id: 7, datetime: '2031-01-03T09:00:00.000+02:00', totalfee: 12.5, services: [{ id: '42' }] },
] as const;
export const FIXTURE_ORDER_IDS = FIXTURE_ORDERS.map((order) => String(order.id));

/** Above this many documents in a collection, records the fuzzer created are cleared away. */
const MAX_DOCUMENTS = 150;

/** The database the handlers use, seen through a client of the test's own. */
export class FuzzWorld {
  private client: MongoClient | undefined;
  private current: Snapshot | undefined;

  constructor(private readonly dbName: () => string) {}

  private get db(): Db {
    if (!this.client) throw new Error('FuzzWorld.open() was not called');
    return this.client.db(this.dbName());
  }

  async open(): Promise<void> {
    this.client = await connectTestClient();
  }

  async close(): Promise<void> {
    await this.client?.close();
  }

  /** Empties every collection and stores the fixture records again. */
  async reset(): Promise<void> {
    for (const name of await this.collectionNames(true)) await this.db.collection(name).deleteMany({});
    this.current = undefined;
    await this.restoreFixtures(await this.snapshot());
  }

  /** Sends a request and checks the answer and, when it was rejected or only read, that nothing stored changed. */
  async check(request: FuzzRequest): Promise<void> {
    const before = this.current ?? (await this.snapshot());
    // Forget the snapshot until this request's effects are known, so a failed check (or a
    // hang) never leaves a stale one behind for the runs fast-check replays while shrinking.
    this.current = undefined;
    const response = await send(request);
    const after = await this.snapshot();
    try {
      expectWellFormedAnswer(request, response);
      if (response.status >= 400 || request.method === 'GET' || routeByKey(request.routeKey).method === 'GET') {
        expect(
          describeChanges(before, after),
          `a ${response.status} answer (${clip(response.rawBody, 200)}) must change nothing stored`,
        ).toEqual([]);
      }
    } finally {
      this.current = await this.restoreFixtures(after);
    }
  }

  /**
   * Keeps the fixture records present (fuzzed DELETEs and PUTs may remove or rename them)
   * and the database small; returns the snapshot of the resulting state.
   */
  async restoreFixtures(snapshot: Snapshot): Promise<Snapshot> {
    let changed = false;
    const storedServices = snapshot.get('services') ?? new Map<string, string>();
    const storedOrders = snapshot.get('orders') ?? new Map<string, string>();
    for (const [name, stored] of [
      ['services', storedServices],
      ['orders', storedOrders],
    ] as const) {
      if (stored.size > MAX_DOCUMENTS) {
        const keep = name === 'services' ? FIXTURE_SERVICE_IDS : FIXTURE_ORDER_IDS;
        await this.db.collection<{ _id: string }>(name).deleteMany({ _id: { $nin: keep } });
        changed = true;
      }
    }
    for (const service of FIXTURE_SERVICES) {
      if (storedServices.has(idKey(String(service.id)))) continue;
      const response = await api.createService(service);
      if (response.status !== 201 && response.status !== 409) throw fixtureError('service', service.id, response);
      changed = true;
    }
    for (const order of FIXTURE_ORDERS) {
      if (storedOrders.has(idKey(String(order.id)))) continue;
      const response = await api.createOrder(order);
      // 409: a fuzzed order took the slot; the other fixtures still give the fuzzer real ids.
      if (response.status !== 201 && response.status !== 409) throw fixtureError('order', order.id, response);
      changed = true;
    }
    return changed ? this.snapshot() : snapshot;
  }

  private async collectionNames(all: boolean): Promise<string[]> {
    const collections = await this.db.listCollections({}, { nameOnly: true }).toArray();
    return collections
      .map((collection) => collection.name)
      .filter((name) => !name.startsWith('system.') && (all || !UNTRACKED_COLLECTIONS.has(name)))
      .sort();
  }

  async snapshot(): Promise<Snapshot> {
    const names = await this.collectionNames(false);
    const contents = await Promise.all(names.map((name) => this.db.collection(name).find({}).toArray()));
    const snapshot: Snapshot = new Map();
    names.forEach((name, index) => {
      const documents = new Map<string, string>();
      for (const document of contents[index] ?? []) {
        documents.set(BSON.EJSON.stringify(document._id), BSON.EJSON.stringify(document, { relaxed: false }));
      }
      snapshot.set(name, documents);
    });
    return snapshot;
  }
}

function idKey(id: string): string {
  return BSON.EJSON.stringify(id);
}

function fixtureError(kind: string, id: string | number, response: TestResponse): Error {
  const hint = response.status === 401 ? ' (is the bearer-token work mid-flight? re-run in a few minutes)' : '';
  return new Error(`could not store fixture ${kind} ${id}: ${response.status} ${clip(response.rawBody)}${hint}`);
}

/** What differs between two snapshots, one line per added, removed or changed document. */
export function describeChanges(before: Snapshot, after: Snapshot): string[] {
  const changes: string[] = [];
  for (const name of new Set([...before.keys(), ...after.keys()])) {
    const was = before.get(name) ?? new Map<string, string>();
    const is = after.get(name) ?? new Map<string, string>();
    for (const [id, document] of is) {
      const previous = was.get(id);
      if (previous === undefined) changes.push(`${name} ${id} added: ${clip(document, 300)}`);
      else if (previous !== document)
        changes.push(`${name} ${id} changed: ${clip(previous, 300)} -> ${clip(document, 300)}`);
    }
    for (const id of was.keys()) if (!is.has(id)) changes.push(`${name} ${id} removed`);
  }
  return changes;
}
