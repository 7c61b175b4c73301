/**
 * The transactional outbox: every committed write stores exactly one event, in its transaction,
 * describing the change as the API answered it; a refused write stores none. Under concurrent
 * writes the count still matches the writes that committed, one event per version.
 */
import type { Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collections } from '#lib/db/indexes';
import type { OutboxDocument } from '#lib/db/outbox';
import { eventDetail } from '#lib/events/detail';
import { api, handlers, useApiDatabase } from '../support/api.ts';
import { invoke } from '../support/apiEvents.ts';
import { connectTestClient } from '../support/mongo.ts';

const database = useApiDatabase('events_outbox');
let client: MongoClient;
let db: Db;

beforeAll(async () => {
  client = await connectTestClient();
  db = client.db(database.dbName);
  expect((await api.createService({ id: 'svc', name: 'Service' })).status).toBe(201);
});
afterAll(async () => {
  await client?.close();
});

const HOUR = 3_600_000;
let nextSlot = Date.parse('2041-01-01T00:00:00Z');
/** A fresh instant far from every other case's orders. */
function freeSlot(): number {
  nextSlot += 10 * 24 * HOUR;
  return nextSlot;
}
const iso = (ms: number) => new Date(ms).toISOString();
const order = (datetime: number, totalfee = 1, services = [{ id: 'svc' }]) => ({
  datetime: iso(datetime),
  totalfee,
  services,
});

/** The outbox events of one resource, in version order. */
async function eventsOf(resource: string): Promise<OutboxDocument[]> {
  return db
    .collection<OutboxDocument>(collections.outboxEvents)
    .find({ resource })
    .sort({ since: 1, version: 1 })
    .toArray();
}

async function outboxCount(): Promise<number> {
  return db.collection(collections.outboxEvents).countDocuments();
}

/** Runs `write` and returns how many events it added to the outbox. */
async function eventsAddedBy(write: () => Promise<unknown>): Promise<number> {
  const before = await outboxCount();
  await write();
  return (await outboxCount()) - before;
}

describe('every committed write stores exactly one event describing it', () => {
  it('an order: created, updated, moved, deleted, each with its version, the resource as answered and the actor', async () => {
    const slot = freeSlot();
    const created = await api.createOrder({ id: 'o-life', ...order(slot) });
    expect(created.status).toBe(201);
    const updated = await api.updateOrder('o-life', order(slot, 5));
    expect(updated.status).toBe(200);
    const moved = await api.updateOrder('o-life', order(slot + HOUR, 5));
    expect(moved.status).toBe(200);
    expect((await api.deleteOrder('o-life')).status).toBe(204);

    const events = await eventsOf('order/o-life');
    expect(events.map((event) => [event.type, event.version])).toEqual([
      ['order.created', 1],
      ['order.updated', 2],
      ['order.moved', 3],
      ['order.deleted', 4],
    ]);
    const details = events.map(eventDetail);
    expect(details[0]).toMatchObject({ resourceId: 'o-life', actor: 'developer', order: created.body });
    expect(details[1]).toMatchObject({ order: updated.body });
    expect(details[2]).toMatchObject({ order: moved.body, time: (moved.body as { updatedAt: string }).updatedAt });
    expect(details[3]).not.toHaveProperty('order');
    expect(new Set(details.map((detail) => detail.eventId)).size).toBe(4);
    expect(events.every((event) => event.deliveredAt === null)).toBe(true);
  });

  it('a service: created, renamed, deleted', async () => {
    const created = await api.createService({ id: 's-life', name: 'First' });
    expect(created.status).toBe(201);
    const renamed = await api.updateService('s-life', { name: 'Second' });
    expect(renamed.status).toBe(200);
    expect((await api.deleteService('s-life')).status).toBe(204);
    const events = await eventsOf('service/s-life');
    expect(events.map((event) => [event.type, event.version])).toEqual([
      ['service.created', 1],
      ['service.renamed', 2],
      ['service.deleted', 3],
    ]);
    expect(eventDetail(events[0] as OutboxDocument)).toMatchObject({ service: created.body });
    expect(eventDetail(events[1] as OutboxDocument)).toMatchObject({ service: renamed.body });
  });

  it('a deleted id created again starts a new life at version 1, after the old one in (since, version) order', async () => {
    const slot = freeSlot();
    expect((await api.createOrder({ id: 'o-again', ...order(slot) })).status).toBe(201);
    expect((await api.deleteOrder('o-again')).status).toBe(204);
    expect((await api.createOrder({ id: 'o-again', ...order(slot) })).status).toBe(201);
    const events = await eventsOf('order/o-again');
    expect(events.map((event) => [event.type, event.version])).toEqual([
      ['order.created', 1],
      ['order.deleted', 2],
      ['order.created', 1],
    ]);
    // Consumers order an id's events by (resourceCreatedAt, version): the new life sorts after the old.
    const lives = events.map((event) => eventDetail(event).resourceCreatedAt);
    expect(lives[1]).toBe(lives[0]);
    expect(Date.parse(lives[2] as string)).toBeGreaterThan(Date.parse(lives[1] as string));
  });

  it('an idempotent retry of a create replays its answer and stores no second event', async () => {
    const body = { id: 'o-key', ...order(freeSlot()) };
    expect(await eventsAddedBy(() => api.createOrder(body, { 'idempotency-key': 'outbox-1' }))).toBe(1);
    const replay = await api.createOrder(body, { 'idempotency-key': 'outbox-1' });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect((await eventsOf('order/o-key')).length).toBe(1);
  });
});

describe('a refused write stores no event', () => {
  it('409 (window conflict, service in use), 404, 412, 422 and a duplicate id add nothing', async () => {
    const slot = freeSlot();
    expect((await api.createOrder({ id: 'o-base', ...order(slot) })).status).toBe(201);
    expect((await api.createService({ id: 's-used', name: 'Used' })).status).toBe(201);
    expect((await api.createOrder({ id: 'o-uses', ...order(freeSlot(), 1, [{ id: 's-used' }]) })).status).toBe(201);
    const refusals: [string, () => Promise<{ status: number }>, number][] = [
      ['window conflict', () => api.createOrder(order(slot + HOUR)), 409],
      ['move into a conflict', () => api.updateOrder('o-uses', order(slot + HOUR, 1, [{ id: 's-used' }])), 409],
      ['service in use', () => api.deleteService('s-used'), 409],
      ['unknown service', () => api.createOrder(order(freeSlot(), 1, [{ id: 'nope' }])), 422],
      ['duplicate order id', () => api.createOrder({ id: 'o-base', ...order(freeSlot()) }), 409],
      ['duplicate service id', () => api.createService({ id: 'svc', name: 'Again' }), 409],
      ['missing order', () => api.deleteOrder('o-none'), 404],
      ['missing order PUT', () => api.updateOrder('o-none', order(freeSlot())), 404],
      ['missing service', () => api.updateService('s-none', { name: 'X' }), 404],
      ['missing service delete', () => api.deleteService('s-none'), 404],
      ...(['PUT', 'DELETE'] as const).flatMap((method): [string, () => Promise<{ status: number }>, number][] => [
        [
          `stale order ${method}`,
          () =>
            invoke(method === 'PUT' ? handlers.updateOrder : handlers.deleteOrder, {
              method,
              route: '/orders/{id}',
              pathParameters: { id: 'o-base' },
              headers: { 'if-match': '"7"' },
              ...(method === 'PUT' && { body: order(slot) }),
            }),
          412,
        ],
        [
          `stale service ${method}`,
          () =>
            invoke(method === 'PUT' ? handlers.updateService : handlers.deleteService, {
              method,
              route: '/services/{id}',
              pathParameters: { id: 'svc' },
              headers: { 'if-match': '"7"' },
              ...(method === 'PUT' && { body: { name: 'Stale' } }),
            }),
          412,
        ],
      ]),
    ];
    for (const [name, write, status] of refusals) {
      let answered = 0;
      const added = await eventsAddedBy(async () => {
        answered = (await write()).status;
      });
      expect([name, answered, added]).toEqual([name, status, 0]);
    }
  });
});

describe('under concurrent writes', () => {
  it('the outbox holds one event per committed write and one per version of each resource', async () => {
    const slot = freeSlot();
    const before = await outboxCount();
    // Creates racing for three slots less than a window apart, and moves and deletes racing on them.
    const creates = await Promise.all(
      Array.from({ length: 12 }, (_, index) =>
        api.createOrder({ id: `o-race-${index}`, ...order(slot + (index % 3) * HOUR) }),
      ),
    );
    const createdIds = creates.flatMap((answer, index) => (answer.status === 201 ? [`o-race-${index}`] : []));
    const followUps = await Promise.all(
      createdIds.flatMap((id) => [
        api.updateOrder(id, order(slot + 30 * 24 * HOUR, 2)),
        api.updateOrder(id, order(slot, 3)),
        api.deleteOrder(id),
      ]),
    );
    const committed = [...creates, ...followUps].filter((answer) => answer.status < 300).length;
    for (const answer of [...creates, ...followUps]) expect([200, 201, 204, 404, 409, 503]).toContain(answer.status);
    expect((await outboxCount()) - before).toBe(committed);
    for (const id of createdIds) {
      const versions = (await eventsOf(`order/${id}`)).map((event) => event.version);
      expect(versions).toEqual(versions.map((_, index) => index + 1));
    }
  });
});
