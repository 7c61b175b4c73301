import { connection } from './client.ts';
import { collections } from './indexes.ts';
import type { OutboxDocument } from './outbox.ts';

async function outbox() {
  const { db } = await connection();
  return db.collection<OutboxDocument>(collections.outboxEvents);
}

/**
 * The next undelivered event of each resource that has one (the lowest (since, version) of its
 * undelivered events), oldest change first, at most `limit`: what may be published now without
 * passing an earlier event of the same resource. One aggregate on the `undelivered_by_resource`
 * index.
 */
export async function undeliveredHeads(limit: number): Promise<OutboxDocument[]> {
  return (await outbox())
    .aggregate<OutboxDocument>([
      { $match: { deliveredAt: null } },
      { $sort: { deliveredAt: 1, resource: 1, since: 1, version: 1 } },
      { $group: { _id: '$resource', head: { $first: '$$ROOT' } } },
      { $replaceWith: '$head' },
      { $sort: { at: 1, _id: 1 } },
      { $limit: limit },
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
    .sort({ at: 1 })
    .limit(1)
    .toArray();
  return oldest?.at;
}
