import { describe, expect, it } from 'vitest';
import { DEV_ISSUER } from '#dev/auth/devIssuer';
import { api, collectAllIds, handlers, useApiDatabase } from '../support/api.ts';
import { invoke } from '../support/apiEvents.ts';
import { connectTestClient } from '../support/mongo.ts';

const database = useApiDatabase('handlers_idem');

const createService = (body: unknown, key?: string) =>
  invoke(handlers.createService, {
    method: 'POST',
    route: '/services',
    body,
    ...(key && { headers: { 'idempotency-key': key } }),
  });
const createOrder = (body: unknown, key?: string) =>
  invoke(handlers.createOrder, {
    method: 'POST',
    route: '/orders',
    body,
    ...(key && { headers: { 'idempotency-key': key } }),
  });

describe('Idempotency-Key on creates', () => {
  it('replays the first response for the same key and body, creating nothing more', async () => {
    const first = await createService({ name: 'Once' }, 'key-service-1');
    expect(first.status).toBe(201);
    const again = await createService({ name: 'Once' }, 'key-service-1');
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.location).toBe(first.headers.location);
    expect(again.headers['idempotent-replayed']).toBe('true');
    const named = (await collectAllIds(api.listServices, { limit: '100' })).filter(
      (id) => id === (first.body as { id: string }).id,
    );
    expect(named).toHaveLength(1);
  });

  it('treats a body that differs only in key order as the same body', async () => {
    const first = await createOrder(
      { datetime: '2050-01-01T00:00:00Z', totalfee: 1, services: [{ id: 'svc-i' }] },
      'key-order-order',
    );
    expect(first.status).toBe(422); // svc-i does not exist: a client error is replayed too
    const again = await createOrder(
      { services: [{ id: 'svc-i' }], totalfee: 1, datetime: '2050-01-01T00:00:00Z' },
      'key-order-order',
    );
    expect(again.status).toBe(422);
    expect(again.headers['idempotent-replayed']).toBe('true');
  });

  it('answers 422 for the same key with another body', async () => {
    expect((await createService({ name: 'A' }, 'key-reused')).status).toBe(201);
    const reused = await createService({ name: 'B' }, 'key-reused');
    expect(reused.status).toBe(422);
    expect(reused.body).toMatchObject({ type: '/problems/idempotency-key-reused' });
  });

  it('keeps keys per operation: the same key on /orders and /services are different keys', async () => {
    await createService({ id: 'svc-key-scope', name: 'x' });
    expect((await createService({ name: 'shared' }, 'key-shared')).status).toBe(201);
    const order = await createOrder(
      { datetime: '2051-01-01T00:00:00Z', totalfee: 1, services: [{ id: 'svc-key-scope' }] },
      'key-shared',
    );
    expect(order.status).toBe(201);
  });

  it('creates one resource for concurrent requests with one key', async () => {
    await createService({ id: 'svc-concurrent', name: 'x' });
    const body = { datetime: '2052-06-01T00:00:00Z', totalfee: 3, services: [{ id: 'svc-concurrent' }] };
    const responses = await Promise.all(Array.from({ length: 8 }, () => createOrder(body, 'key-concurrent')));
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(201));
    const ids = new Set(responses.map((r) => (r.body as { id: string }).id));
    expect(ids.size).toBe(1);
    const listed = await collectAllIds(api.listOrders, { from: '2052-06-01T00:00:00Z', to: '2052-06-02T00:00:00Z' });
    expect(listed).toEqual([...ids]);
  });

  it('lets a retry take over a key whose first request died without answering', async () => {
    const body = { id: 'svc-after-crash', name: 'Retried' };
    // What a request that claimed the key and then timed out leaves behind: a claim, no response.
    const { createHash } = await import('node:crypto');
    const caller = createHash('sha256').update(`${DEV_ISSUER} developer`).digest('base64url').slice(0, 22);
    const requestHash = createHash('sha256')
      .update(JSON.stringify({ id: body.id, name: body.name }))
      .digest('base64url');
    const client = await connectTestClient();
    const keys = client.db(database.dbName).collection('idempotency_keys');
    const longAgo = new Date(Date.now() - 60 * 60_000);
    await keys.insertOne({
      _id: `createService:${caller}:key-crashed` as never,
      requestHash,
      createdAt: longAgo,
      leaseExpiresAt: longAgo,
    });
    const retry = await createService(body, 'key-crashed');
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    const again = await createService(body, 'key-crashed');
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(retry.body);
    await client.close();
  });

  it('keeps keys per caller: two callers with the same key and body each create their own', async () => {
    const as = (subject: string) =>
      invoke(handlers.createService, {
        method: 'POST',
        route: '/services',
        body: { name: 'Same body' },
        headers: { 'idempotency-key': 'key-common' },
        auth: { subject },
      });
    const alice = await as('alice');
    const bob = await as('bob');
    expect([alice.status, bob.status]).toEqual([201, 201]);
    expect((bob.body as { id: string }).id).not.toBe((alice.body as { id: string }).id);
    expect(bob.headers['idempotent-replayed']).toBeUndefined();
    expect((await as('alice')).headers['idempotent-replayed']).toBe('true');
  });

  it('answers 400 for a key that is not visible ASCII', async () => {
    const response = await createService({ name: 'x' }, 'has space');
    expect(response.status).toBe(400);
  });
});

describe('ETag and If-Match', () => {
  it('answers GET, POST and PUT with an ETag that changes on every write', async () => {
    const created = await createService({ id: 'svc-etag', name: 'v1' });
    expect(created.headers.etag).toBe('"1"');
    expect((await api.getService('svc-etag')).headers.etag).toBe('"1"');
    const updated = await api.updateService('svc-etag', { name: 'v2' });
    expect(updated.headers.etag).toBe('"2"');
  });

  it('applies a PUT only at the version If-Match names, else 412 and nothing changes', async () => {
    await createService({ id: 'svc-ifmatch', name: 'v1' });
    const put = (ifMatch: string, name: string) =>
      invoke(handlers.updateService, {
        method: 'PUT',
        route: '/services/{id}',
        pathParameters: { id: 'svc-ifmatch' },
        body: { name },
        headers: { 'if-match': ifMatch },
      });
    expect((await put('"1"', 'v2')).status).toBe(200);
    const stale = await put('"1"', 'lost update');
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ status: 412, type: '/problems/precondition-failed' });
    expect((await api.getService('svc-ifmatch')).body).toMatchObject({ name: 'v2' });
    expect((await put('W/"2"', 'weak')).status).toBe(412);
    expect((await put('"7", "2"', 'v3')).status).toBe(200);
    expect((await put('*', 'v4')).status).toBe(200);
    expect((await put('not-a-tag', 'x')).status).toBe(400);
  });

  it('guards order PUT and DELETE the same way', async () => {
    await createService({ id: 'svc-for-order-etag', name: 'x' });
    const order = await createOrder({
      id: 'ord-etag',
      datetime: '2053-01-01T00:00:00Z',
      totalfee: 1,
      services: [{ id: 'svc-for-order-etag' }],
    });
    expect(order.headers.etag).toBe('"1"');
    const body = { datetime: '2053-01-01T01:00:00Z', totalfee: 2, services: [{ id: 'svc-for-order-etag' }] };
    const put = (ifMatch: string) =>
      invoke(handlers.updateOrder, {
        method: 'PUT',
        route: '/orders/{id}',
        pathParameters: { id: 'ord-etag' },
        body,
        headers: { 'if-match': ifMatch },
      });
    expect((await put('"5"')).status).toBe(412);
    const moved = await put('"1"');
    expect(moved.status).toBe(200);
    expect(moved.headers.etag).toBe('"2"');
    const del = (ifMatch: string) =>
      invoke(handlers.deleteOrder, {
        method: 'DELETE',
        route: '/orders/{id}',
        pathParameters: { id: 'ord-etag' },
        headers: { 'if-match': ifMatch },
      });
    expect((await del('"1"')).status).toBe(412);
    expect((await api.getOrder('ord-etag')).status).toBe(200);
    expect((await del('"2"')).status).toBe(204);
    expect((await del('"2"')).status).toBe(404);
  });

  it('guards service DELETE', async () => {
    await createService({ id: 'svc-del-etag', name: 'x' });
    const del = (ifMatch: string) =>
      invoke(handlers.deleteService, {
        method: 'DELETE',
        route: '/services/{id}',
        pathParameters: { id: 'svc-del-etag' },
        headers: { 'if-match': ifMatch },
      });
    expect((await del('"9"')).status).toBe(412);
    expect((await del('"1"')).status).toBe(204);
  });
});
