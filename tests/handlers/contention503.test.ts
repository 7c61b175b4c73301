/**
 * A 503 for write contention, reached through the handlers: it is never kept under an
 * Idempotency-Key (the retry must be able to succeed), and a service delete that shares a guard
 * stripe with an order write in flight gets it too, leaving the service in place.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { windowLockKeys, windowMs } from '#lib/domain/orderWindow';
import { SERVICE_GUARD_STRIPES, serviceGuardKey, serviceGuardStripe } from '#lib/domain/serviceGuard';
import { api, useApiDatabase } from '../support/api.ts';
import { connectTestClient } from '../support/mongo.ts';
import { holdLockKey } from '../support/windowLock.ts';

const database = useApiDatabase('handlers_contention');
const WINDOW = windowMs(180);

let client: Awaited<ReturnType<typeof connectTestClient>>;

beforeAll(async () => {
  client = await connectTestClient();
});

afterAll(async () => {
  await client.close();
});

/** Runs `body` while another transaction holds the lock document `key` (written, not committed). */
async function whileHeld(key: string, body: () => Promise<void>): Promise<void> {
  const held = await holdLockKey(client, database.dbName, key);
  try {
    await body();
  } finally {
    await held.release();
  }
}

describe('a 503 under an Idempotency-Key', () => {
  it('is not replayed: the retry with the same key and body creates the order', async () => {
    expect((await api.createService({ id: 'idem-busy', name: 'Busy' })).status).toBe(201);
    const datetime = new Date('2041-02-03T10:00:00Z');
    const body = { id: 'ord-idem-503', datetime: datetime.toISOString(), totalfee: 7, services: [{ id: 'idem-busy' }] };
    const headers = { 'idempotency-key': 'key-after-503' };
    const [lockKey] = windowLockKeys(datetime, WINDOW);
    await whileHeld(lockKey, async () => {
      const refused = await api.createOrder(body, headers);
      expect(refused.status).toBe(503);
      expect(refused.body).toMatchObject({ type: '/problems/write-contention' });
    });
    const retried = await api.createOrder(body, headers);
    expect(retried.status).toBe(201);
    expect(retried.headers['idempotent-replayed']).toBeUndefined();
    expect((await api.getOrder('ord-idem-503')).status).toBe(200);
    // Now the key holds the 201, and a further retry is answered from it.
    const replayed = await api.createOrder(body, headers);
    expect(replayed.status).toBe(201);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(replayed.body).toEqual(retried.body);
  });
});

describe('DELETE /services/{id} against an order write holding one of its guard stripes', () => {
  it('answers 503 write-contention with Retry-After and keeps the service, then deletes it once free', async () => {
    expect((await api.createService({ id: 'guarded', name: 'Guarded' })).status).toBe(201);
    // An order in the last stripe: a delete that left out any stripe would most likely miss this one.
    const bucket = SERVICE_GUARD_STRIPES * 700 + SERVICE_GUARD_STRIPES - 1;
    const datetime = new Date(bucket * WINDOW + 60_000);
    const stripe = serviceGuardStripe(datetime, WINDOW);
    expect(stripe).toBe(SERVICE_GUARD_STRIPES - 1);
    await whileHeld(serviceGuardKey('guarded', stripe), async () => {
      const refused = await api.deleteService('guarded');
      expect(refused.status).toBe(503);
      expect(refused.headers['content-type']).toBe('application/problem+json');
      expect(refused.headers['retry-after']).toBe('5');
      expect(refused.body).toMatchObject({ status: 503, type: '/problems/write-contention' });
      expect((await api.getService('guarded')).status).toBe(200);
    });
    expect((await api.deleteService('guarded')).status).toBe(204);
    expect((await api.getService('guarded')).status).toBe(404);
  });
});
