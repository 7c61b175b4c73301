import { connection } from './client.ts';
import { collections } from './indexes.ts';
import type { OutboxDocument } from './outbox.ts';

async function outbox() {
  const { db } = await connection();
  return db.collection<OutboxDocument>(collections.outboxEvents);
}

/** How many of the oldest undelivered events the relay looks at to find `limit` resources. */
const CANDIDATES_PER_HEAD = 5;

/**
 * The next undelivered event (the lowest (since, version)) of up to `limit` resources, oldest
 * change first: what may be published now without passing an earlier event of the same resource.
 * Two bounded reads, whatever the backlog (an EventBridge outage can leave many events): the
 * resources of the oldest undelivered events (index `undelivered_by_age`), then the head of each
 * of those (index `undelivered_by_resource`).
 */
export async function undeliveredHeads(limit: number): Promise<OutboxDocument[]> {
  const events = await outbox();
  const oldest = await events
    .find({ deliveredAt: null }, { projection: { resource: 1 } })
    .sort({ deliveredAt: 1, at: 1 })
    .limit(limit * CANDIDATES_PER_HEAD)
    .toArray();
  const resources = [...new Set(oldest.map((event) => event.resource))].slice(0, limit);
  if (resources.length === 0) return [];
  return events
    .aggregate<OutboxDocument>([
      { $match: { deliveredAt: null, resource: { $in: resources } } },
      { $sort: { deliveredAt: 1, resource: 1, since: 1, version: 1 } },
      { $group: { _id: '$resource', head: { $first: '$$ROOT' } } },
      { $replaceWith: '$head' },
      { $sort: { at: 1, _id: 1 } },
    ])
    .toArray();
}

/** Marks events EventBridge accepted; the TTL index removes them after the retention. */
export async function markDelivered(ids: readonly string[], at: Date): Promise<void> {
  if (ids.length === 0) return;
  await (await outbox()).updateMany({ _id: { $in: [...ids] }, deliveredAt: null }, { $set: { deliveredAt: at } });
}

/** When the oldest undelivered change was made; undefined when every event is delivered. */
export async function oldestUndeliveredAt(): Promise<Date | undefined> {
  const [oldest] = await (await outbox())
    .find({ deliveredAt: null }, { projection: { at: 1 } })
    .sort({ deliveredAt: 1, at: 1 })
    .limit(1)
    .toArray();
  return oldest?.at;
}
