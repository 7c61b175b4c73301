import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { resetConfig } from '#lib/config';
import { closeConnection } from '#lib/db/client';
import { DEADLINE_MARGIN_MS } from '#lib/http/deadline';
import { httpHandler } from '#lib/http/httpHandler';
import { apiMetrics } from '#lib/http/middleware/metrics';
import { METRIC } from '#lib/observability/metricNames';
import { api, handlers, useApiDatabase } from '../support/api.ts';
import { apiGatewayEvent, lambdaContext, type TestResponse } from '../support/apiEvents.ts';
import { bearer } from '../support/auth.ts';
import { type EmfRecord, interceptStdout, parseEmf, type StdoutCapture } from '../support/emf.ts';
import { connectTestClient, testMongoUri } from '../support/mongo.ts';
import { freePort } from '../support/offline.ts';
import { holdWindowLock } from '../support/windowLock.ts';

// The suite keeps metrics off stdout (vitest.config.ts); this file turns them on, as on AWS,
// before the handlers' modules (and so the Metrics object) load. Lambda sets the initialization
// type; Powertools counts a cold start only for an on-demand one.
vi.hoisted(() => {
  process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  process.env.POWERTOOLS_METRICS_NAMESPACE = 'OrderManagementApiTest';
  process.env.POWERTOOLS_SERVICE_NAME = 'order-management-api';
});

const database = useApiDatabase('handlers_metrics');

const HOUR = 3_600_000;
let nextSlot = Date.parse('2041-01-01T00:00:00Z');
/** A fresh instant far from every other test's orders. */
function freeSlot(): Date {
  nextSlot += 10 * 24 * HOUR;
  return new Date(nextSlot);
}

// Everything the handlers write to stdout in this file is kept, not printed.
let stdout: StdoutCapture;
beforeAll(() => {
  stdout = interceptStdout();
});
afterAll(() => stdout.restore());

/** Runs `work` and returns its result and what it wrote to stdout. */
async function captureStdout<T>(work: () => Promise<T>): Promise<{ result: T; stdout: string }> {
  const start = stdout.text.length;
  const result = await work();
  return { result, stdout: stdout.text.slice(start) };
}

/** Runs one request and returns its answer and the EMF records it wrote. */
async function counted(
  request: () => Promise<TestResponse>,
): Promise<{ response: TestResponse; records: EmfRecord[] }> {
  const { result, stdout } = await captureStdout(request);
  return { response: result, records: parseEmf(stdout) };
}

/**
 * The API's own metrics in the records (Powertools' ColdStart record aside), after checking each
 * record has the stage's namespace, only the `service` dimension, and Count units.
 */
function apiMetricsIn(records: EmfRecord[]): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const record of records.filter((each) => !('ColdStart' in each.values))) {
    expect(record.namespace).toBe('OrderManagementApiTest');
    expect(record.dimensions).toEqual([['service']]);
    expect(record.dimensionValues).toEqual({ service: 'order-management-api' });
    for (const [name, value] of Object.entries(record.values)) {
      expect(record.units[name]).toBe('Count');
      totals[name] = (totals[name] ?? 0) + value;
    }
  }
  return totals;
}

beforeAll(async () => {
  // A read first: the container's cold start is counted on it, and it counts nothing else.
  const { response, records } = await counted(() => api.getService('none-yet'));
  expect(response.status).toBe(404);
  expect(records).toEqual([
    {
      namespace: 'OrderManagementApiTest',
      dimensions: [['service', 'function_name']],
      dimensionValues: { service: 'order-management-api', function_name: 'test' },
      values: { ColdStart: 1 },
      units: { ColdStart: 'Count' },
    },
  ]);
  expect((await api.createService({ id: 'metered', name: 'Metered' })).status).toBe(201);
});

describe('the metrics a handler writes, one EMF record per invocation', () => {
  it('counts ColdStart only once per container, and nothing for a read', async () => {
    const { response, records } = await counted(() => api.getService('metered'));
    expect(response.status).toBe(200);
    expect(records).toEqual([]);
  });

  it('counts a 201 create order as OrderCreated', async () => {
    const { response, records } = await counted(() =>
      api.createOrder({ datetime: freeSlot().toISOString(), totalfee: 10, services: [{ id: 'metered' }] }),
    );
    expect(response.status).toBe(201);
    expect(records).toHaveLength(1);
    expect(apiMetricsIn(records)).toEqual({ OrderCreated: 1 });
  });

  it('counts a 201 create service as ServiceCreated, its update as ServiceUpdated, its delete as ServiceDeleted', async () => {
    const created = await counted(() => api.createService({ id: 'short-lived', name: 'Short' }));
    expect(created.response.status).toBe(201);
    expect(apiMetricsIn(created.records)).toEqual({ ServiceCreated: 1 });
    const updated = await counted(() => api.updateService('short-lived', { name: 'Shorter' }));
    expect(updated.response.status).toBe(200);
    expect(apiMetricsIn(updated.records)).toEqual({ ServiceUpdated: 1 });
    const deleted = await counted(() => api.deleteService('short-lived'));
    expect(deleted.response.status).toBe(204);
    expect(apiMetricsIn(deleted.records)).toEqual({ ServiceDeleted: 1 });
  });

  it('counts a PUT that changes the datetime as OrderMoved and one that keeps it as OrderUpdated', async () => {
    const slot = freeSlot();
    const order = { id: 'to-move', datetime: slot.toISOString(), totalfee: 10, services: [{ id: 'metered' }] };
    expect((await api.createOrder(order)).status).toBe(201);
    const updated = await counted(() => api.updateOrder('to-move', { ...order, totalfee: 11 }));
    expect(updated.response.status).toBe(200);
    expect(apiMetricsIn(updated.records)).toEqual({ OrderUpdated: 1 });
    // The same instant written with another offset is not a move.
    const sameInstant = new Date(slot.getTime() + 2 * HOUR).toISOString().replace('Z', '+02:00');
    const restated = await counted(() => api.updateOrder('to-move', { ...order, datetime: sameInstant }));
    expect(restated.response.status).toBe(200);
    expect(apiMetricsIn(restated.records)).toEqual({ OrderUpdated: 1 });
    const moved = await counted(() =>
      api.updateOrder('to-move', { ...order, datetime: new Date(slot.getTime() + HOUR).toISOString() }),
    );
    expect(moved.response.status).toBe(200);
    expect(apiMetricsIn(moved.records)).toEqual({ OrderMoved: 1 });
  });

  it('counts a 204 delete order as OrderDeleted', async () => {
    const order = { id: 'to-delete', datetime: freeSlot().toISOString(), totalfee: 1, services: [{ id: 'metered' }] };
    expect((await api.createOrder(order)).status).toBe(201);
    const { response, records } = await counted(() => api.deleteOrder('to-delete'));
    expect(response.status).toBe(204);
    expect(apiMetricsIn(records)).toEqual({ OrderDeleted: 1 });
  });

  it('counts a 409 window conflict as OrderWindowConflict, apart from other 409s', async () => {
    const slot = freeSlot();
    const first = { id: 'holder', datetime: slot.toISOString(), totalfee: 1, services: [{ id: 'metered' }] };
    expect((await api.createOrder(first)).status).toBe(201);
    const conflict = await counted(() =>
      api.createOrder({
        datetime: new Date(slot.getTime() + HOUR).toISOString(),
        totalfee: 1,
        services: [{ id: 'metered' }],
      }),
    );
    expect(conflict.response.status).toBe(409);
    expect(conflict.response.body).toMatchObject({ type: '/problems/order-window-conflict' });
    expect(apiMetricsIn(conflict.records)).toEqual({ OrderWindowConflict: 1 });
    // A duplicate id is a 409 of another kind: not a window conflict, and not counted.
    const duplicate = await counted(() => api.createOrder({ ...first, datetime: freeSlot().toISOString() }));
    expect(duplicate.response.status).toBe(409);
    expect(duplicate.records).toEqual([]);
  });

  it('counts a replayed Idempotency-Key answer as IdempotentReplay, not as a second create', async () => {
    const body = { datetime: freeSlot().toISOString(), totalfee: 3, services: [{ id: 'metered' }] };
    const headers = { 'idempotency-key': 'metrics-replay-1' };
    const first = await counted(() => api.createOrder(body, headers));
    expect(first.response.status).toBe(201);
    expect(apiMetricsIn(first.records)).toEqual({ OrderCreated: 1 });
    const again = await counted(() => api.createOrder(body, headers));
    expect(again.response.status).toBe(201);
    expect(again.response.headers['idempotent-replayed']).toBe('true');
    expect(apiMetricsIn(again.records)).toEqual({ IdempotentReplay: 1 });
  });

  it('counts a 400 as ValidationFailed once, however many fields are wrong, malformed JSON included', async () => {
    const invalid = await counted(() => api.createOrder({ datetime: 'soon', totalfee: -1, services: 'none' }));
    expect(invalid.response.status).toBe(400);
    expect(apiMetricsIn(invalid.records)).toEqual({ ValidationFailed: 1 });
    const malformed = await counted(() => api.createService('{"id": '));
    expect(malformed.response.status).toBe(400);
    expect(apiMetricsIn(malformed.records)).toEqual({ ValidationFailed: 1 });
  });

  it('counts a 500 as UnexpectedError', async () => {
    const failing = httpHandler(null, {}, async () => {
      throw new TypeError('a bug');
    });
    const { result, stdout } = await captureStdout(() =>
      failing(apiGatewayEvent({ method: 'GET', route: '/failing' }), lambdaContext()),
    );
    expect(result.statusCode).toBe(500);
    expect(apiMetricsIn(parseEmf(stdout))).toEqual({ UnexpectedError: 1 });
  });

  it('counts an error that escapes the whole chain as UnexpectedError, once, and rejects with it', async () => {
    // An error handler of its own that fails: nothing in the chain answers.
    const escaping = httpHandler(
      null,
      {},
      async () => {
        throw new TypeError('a bug');
      },
      [
        {
          onError: () => {
            throw new Error('the error handler failed too');
          },
        },
      ],
    );
    let rejected: unknown;
    const { stdout } = await captureStdout(() =>
      escaping(apiGatewayEvent({ method: 'GET', route: '/failing' }), lambdaContext()).catch((error: unknown) => {
        rejected = error;
      }),
    );
    expect(rejected).toBeInstanceOf(Error);
    expect((rejected as Error).message).toBe('the error handler failed too');
    expect(apiMetricsIn(parseEmf(stdout))).toEqual({ UnexpectedError: 1 });
  });

  it('counts an error that escapes every other handler as UnexpectedError, and lets it through', async () => {
    // problemErrors answers every error it meets; this is the middleware's own last resort.
    const middleware = apiMetrics(METRIC.orderCreated);
    const request = {
      event: apiGatewayEvent({ method: 'POST', route: '/orders' }),
      context: lambdaContext(),
      response: undefined,
      error: new Error('escaped'),
      internal: {},
    } as unknown as Parameters<NonNullable<typeof middleware.onError>>[0];
    const { result, stdout } = await captureStdout(async () => middleware.onError?.(request));
    expect(result).toBeUndefined();
    expect(request.response).toBeUndefined();
    expect(apiMetricsIn(parseEmf(stdout))).toEqual({ UnexpectedError: 1 });
  });

  it('never sends the outcome it counted to the client', async () => {
    const order = { id: 'no-leak', datetime: freeSlot().toISOString(), totalfee: 1, services: [{ id: 'metered' }] };
    expect((await api.createOrder(order)).status).toBe(201);
    const event = apiGatewayEvent({
      method: 'PUT',
      route: '/orders/{id}',
      pathParameters: { id: 'no-leak' },
      body: { ...order, datetime: freeSlot().toISOString() },
      headers: { authorization: await bearer() },
    });
    const { result, stdout } = await captureStdout(() => handlers.updateOrder(event, lambdaContext()));
    expect(result.statusCode).toBe(200);
    expect(apiMetricsIn(parseEmf(stdout))).toEqual({ OrderMoved: 1 });
    expect(Object.keys(result).sort()).toEqual(['body', 'headers', 'statusCode']);
  });
});

describe('the 503s, each under its own metric', () => {
  it('counts the deadline answer as DeadlineExceeded, though the request never finished', async () => {
    const never = httpHandler(null, {}, () => new Promise(() => {}));
    const context = { ...lambdaContext(), getRemainingTimeInMillis: () => DEADLINE_MARGIN_MS + 20 };
    const { result, stdout } = await captureStdout(() =>
      never(apiGatewayEvent({ method: 'GET', route: '/slow' }), context),
    );
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(String(result.body))).toMatchObject({ type: '/problems/deadline-exceeded' });
    expect(apiMetricsIn(parseEmf(stdout))).toEqual({ DeadlineExceeded: 1 });
  });

  it('counts writes that kept conflicting past the transaction budget as WriteContention', async () => {
    const client = await connectTestClient();
    const datetime = freeSlot();
    // Another writer holds the order's window lock in an open transaction for the whole budget.
    const holder = await holdWindowLock(client, database.dbName, datetime);
    try {
      const { response, records } = await counted(() =>
        api.createOrder({ datetime: datetime.toISOString(), totalfee: 1, services: [{ id: 'metered' }] }),
      );
      expect(response.status).toBe(503);
      expect(response.body).toMatchObject({ type: '/problems/write-contention' });
      expect(apiMetricsIn(records)).toEqual({ WriteContention: 1 });
    } finally {
      await holder.release();
      await client.close();
    }
  });

  describe('when the database cannot be reached', () => {
    beforeAll(async () => {
      process.env.MONGODB_URI = `mongodb://127.0.0.1:${await freePort()}/?directConnection=true`;
      resetConfig();
      await closeConnection();
    });
    afterAll(async () => {
      process.env.MONGODB_URI = testMongoUri();
      resetConfig();
      await closeConnection();
    });

    it('counts the 503 as DatabaseUnavailable, on a write and on a read', async () => {
      const write = await counted(() => api.createService({ id: 'unreachable', name: 'x' }));
      expect(write.response.status).toBe(503);
      expect(write.response.body).toMatchObject({ type: '/problems/database-unavailable' });
      expect(apiMetricsIn(write.records)).toEqual({ DatabaseUnavailable: 1 });
      const read = await counted(() => api.getOrder('any'));
      expect(read.response.status).toBe(503);
      expect(apiMetricsIn(read.records)).toEqual({ DatabaseUnavailable: 1 });
    });
  });
});
