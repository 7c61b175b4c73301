/**
 * The relay's reads of the outbox (lib/db/outboxRepository.ts), on documents written directly:
 * which events are heads (the lowest (since, version) undelivered event of each resource, oldest
 * change first, `limit` resources at most), when the oldest undelivered change was made, and that
 * marking touches only undelivered events named. Delivered events, even the oldest, never count.
 */
import type { Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { collections } from '#lib/db/indexes';
import type { OutboxDocument } from '#lib/db/outbox';
import { markDelivered, oldestUndeliveredAt, undeliveredHeads } from '#lib/db/outboxRepository';
import { useApiDatabase } from '../support/api.ts';
import { connectTestClient } from '../support/mongo.ts';

const database = useApiDatabase('events_outbox_repository');
let client: MongoClient;
let db: Db;

beforeAll(async () => {
  client = await connectTestClient();
  db = client.db(database.dbName);
});
afterAll(async () => {
  await client?.close();
});
beforeEach(async () => {
  await db.collection(collections.outboxEvents).deleteMany({});
});

const MINUTE = 60_000;
const T0 = Date.parse('2060-01-01T00:00:00Z');

/** An event of `resource` at version `version`, made `minutes` after T0; delivered when `delivered`. */
function event(id: string, resource: string, version: number, minutes: number, delivered = false): OutboxDocument {
  return {
    _id: id,
    type: 'order.updated',
    resource: `order/${resource}`,
    resourceId: resource,
    version,
    since: new Date(T0),
    at: new Date(T0 + minutes * MINUTE),
    actor: null,
    deliveredAt: delivered ? new Date(T0 + 100 * MINUTE) : null,
  };
}

/** Inserts `events` one at a time, in the order given (the collection's natural order). */
async function store(...events: OutboxDocument[]): Promise<void> {
  for (const doc of events) await db.collection<OutboxDocument>(collections.outboxEvents).insertOne(doc);
}

describe('the relay’s reads of the outbox', () => {
  it('takes the head of the resources with the oldest undelivered changes, never a delivered event', async () => {
    // Stored newest first; the oldest events of all are delivered and belong to other resources.
    await store(
      event('c-1', 'c', 1, 30),
      event('b-2', 'b', 2, 21),
      event('b-1', 'b', 1, 20),
      event('a-1', 'a', 1, 10),
      event('old-x', 'x', 1, 1, true),
      event('old-y', 'y', 1, 2, true),
    );
    const heads = await undeliveredHeads(2);
    expect(heads.map((head) => head._id)).toEqual(['a-1', 'b-1']);
  });

  it('has no heads and no oldest change when every event is delivered', async () => {
    await store(event('d-1', 'd', 1, 5, true));
    expect(await undeliveredHeads(10)).toEqual([]);
    expect(await oldestUndeliveredAt()).toBeUndefined();
  });

  it('dates the oldest undelivered change, passing over older delivered ones and the storage order', async () => {
    await store(event('new', 'n', 1, 50), event('older', 'o', 1, 40), event('delivered', 'p', 1, 1, true));
    expect(await oldestUndeliveredAt()).toEqual(new Date(T0 + 40 * MINUTE));
  });

  it('marks only the named undelivered events, keeping an earlier delivery time', async () => {
    await store(event('m-1', 'm', 1, 1), event('m-2', 'm', 2, 2), event('done', 'm', 0, 0, true));
    await markDelivered([], new Date(T0 + 500 * MINUTE));
    await markDelivered(['m-1', 'done'], new Date(T0 + 200 * MINUTE));
    const stored = await db
      .collection<OutboxDocument>(collections.outboxEvents)
      .find({}, { sort: { _id: 1 } })
      .toArray();
    expect(stored.map((doc) => [doc._id, doc.deliveredAt?.getTime() ?? null])).toEqual([
      ['done', T0 + 100 * MINUTE],
      ['m-1', T0 + 200 * MINUTE],
      ['m-2', null],
    ]);
  });
});
