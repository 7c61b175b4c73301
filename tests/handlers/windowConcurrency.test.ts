import fc from 'fast-check';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, useApiDatabase } from '../support/api.ts';
import { testMongoUri } from '../support/mongo.ts';

const database = useApiDatabase('handlers_window');
const HOUR = 3_600_000;
const WINDOW = 3 * HOUR;
let reader: MongoClient;

beforeAll(async () => {
  reader = new MongoClient(testMongoUri());
  await reader.connect();
  // One service per concurrent writer: orders in one window bucket that share a service also
  // share its guard stripe (lib/domain/serviceGuard.ts), which would hide a broken window lock.
  for (let i = 0; i < 20; i++)
    expect((await api.createService({ id: `svc-${i}`, name: `Service ${i}` })).status).toBe(201);
});

afterAll(async () => {
  await reader.close();
});

async function storedOrders(): Promise<{ _id: string; datetime: Date }[]> {
  return reader
    .db(database.dbName)
    .collection<{ _id: string; datetime: Date }>('orders')
    .find({}, { projection: { datetime: 1 } })
    .sort({ datetime: 1 })
    .toArray();
}

/** Every pair of stored orders is at least one window apart (checking neighbours in time order suffices). */
function assertRuleHolds(orders: { _id: string; datetime: Date }[]): void {
  for (let i = 1; i < orders.length; i++) {
    const gap = (orders[i]?.datetime.getTime() ?? 0) - (orders[i - 1]?.datetime.getTime() ?? 0);
    expect(gap, `${orders[i - 1]?._id} and ${orders[i]?._id} are ${gap / 60_000} minutes apart`).toBeGreaterThanOrEqual(
      WINDOW,
    );
  }
}

describe('the rule under concurrency', () => {
  it('lets exactly one of 20 simultaneous creates inside one window through', async () => {
    const start = Date.parse('2035-06-01T08:00:00Z');
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        api.createOrder({
          id: `sim-${i}`,
          datetime: new Date(start + i * 5 * 60_000).toISOString(),
          totalfee: 10,
          services: [{ id: `svc-${i}` }],
        }),
      ),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const winner = responses.find((r) => r.status === 201)?.body as { id: string };
    for (const loser of responses.filter((r) => r.status === 409)) {
      expect(loser.body).toMatchObject({ conflictingOrderId: winner.id });
    }
    const inWindow = (await storedOrders()).filter((o) => o._id.startsWith('sim-'));
    expect(inWindow.map((o) => o._id)).toEqual([winner.id]);
  });

  it('never leaves an order pointing at a service deleted concurrently', async () => {
    for (let round = 0; round < 10; round++) {
      const serviceId = `svc-race-${round}`;
      expect((await api.createService({ id: serviceId, name: 'Racy' })).status).toBe(201);
      const start = Date.parse('2037-01-01T00:00:00Z') + round * 100 * HOUR;
      const [deleted, ...creates] = await Promise.all([
        api.deleteService(serviceId),
        ...Array.from({ length: 4 }, (_, i) =>
          api.createOrder({
            datetime: new Date(start + i * 4 * HOUR).toISOString(),
            totalfee: 1,
            services: [{ id: serviceId }],
          }),
        ),
      ]);
      const serviceExists = (await api.getService(serviceId)).status === 200;
      const referencing = await reader
        .db(database.dbName)
        .collection('orders')
        .countDocuments({ 'services.id': serviceId });
      if (deleted?.status === 204) {
        expect(serviceExists).toBe(false);
        expect(referencing).toBe(0);
        for (const create of creates) expect([201, 422]).toContain(create.status);
      } else {
        expect(deleted?.status).toBe(409);
        expect(serviceExists).toBe(true);
        expect(referencing).toBeGreaterThan(0);
      }
      expect(referencing).toBe(creates.filter((c) => c.status === 201).length);
    }
  });

  it('never lets a move add a reference to a service deleted concurrently', async () => {
    for (let round = 0; round < 8; round++) {
      const serviceId = `svc-move-race-${round}`;
      expect((await api.createService({ id: serviceId, name: 'Racy' })).status).toBe(201);
      // Far-apart times, so the moves land on different guard stripes of the service.
      const start = Date.parse('2038-01-01T00:00:00Z') + round * 1_000 * HOUR;
      const ids = [0, 1, 2].map((i) => `move-race-${round}-${i}`);
      const bodies = ids.map((_, i) => ({ datetime: new Date(start + i * 7 * HOUR).toISOString(), totalfee: 1 }));
      for (const [i, id] of ids.entries()) {
        expect((await api.createOrder({ id, ...bodies[i], services: [{ id: 'svc-0' }] })).status).toBe(201);
      }
      const [deleted, ...moves] = await Promise.all([
        api.deleteService(serviceId),
        ...ids.map((id, i) => api.updateOrder(id, { ...bodies[i], services: [{ id: serviceId }] })),
      ]);
      const referencing = await reader
        .db(database.dbName)
        .collection('orders')
        .countDocuments({ 'services.id': serviceId });
      expect(referencing).toBe(moves.filter((m) => m.status === 200).length);
      if (deleted?.status === 204) {
        expect((await api.getService(serviceId)).status).toBe(404);
        expect(referencing).toBe(0);
      } else {
        expect(deleted?.status).toBe(409);
        expect(referencing).toBeGreaterThan(0);
      }
    }
  });

  it('keeps every stored pair 3 hours apart through storms of creates, moves and deletes', async () => {
    const day = Date.parse('2036-03-01T00:00:00Z');
    const instant = fc
      .integer({ min: 0, max: 36 * 4 })
      .map((quarter) => new Date(day + quarter * 15 * 60_000).toISOString());
    const operation = fc.oneof(
      fc.record({ kind: fc.constant('create' as const), slot: fc.integer({ min: 0, max: 11 }), datetime: instant }),
      fc.record({ kind: fc.constant('move' as const), slot: fc.integer({ min: 0, max: 11 }), datetime: instant }),
      fc.record({ kind: fc.constant('delete' as const), slot: fc.integer({ min: 0, max: 11 }) }),
    );
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 5, maxLength: 25 }), async (operations) => {
        round += 1;
        const id = (slot: number) => `storm-${round}-${slot}`;
        const responses = await Promise.all(
          operations.map((op) => {
            if (op.kind === 'delete') return api.deleteOrder(id(op.slot));
            const body = { datetime: op.datetime, totalfee: 1, services: [{ id: `svc-${op.slot}` }] };
            return op.kind === 'create'
              ? api.createOrder({ ...body, id: id(op.slot) })
              : api.updateOrder(id(op.slot), body);
          }),
        );
        for (const response of responses) expect([200, 201, 204, 404, 409]).toContain(response.status);
        assertRuleHolds(await storedOrders());
        // Clear the day so each round starts from nothing and rounds stay independent.
        await reader
          .db(database.dbName)
          .collection<{ _id: string }>('orders')
          .deleteMany({ _id: { $regex: '^storm-' } });
      }),
      { numRuns: 12 },
    );
  });
});
