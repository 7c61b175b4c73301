import type { Db } from 'mongodb';

/** How long an Idempotency-Key is remembered, in seconds (the TTL index's expireAfterSeconds). */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;

/**
 * How long a delivered event stays in the outbox, in seconds: a week, long enough to look into
 * what was sent during an incident after the fact, short enough that the collection stays small.
 */
export const DELIVERED_EVENT_RETENTION_SECONDS = 7 * 24 * 60 * 60;

/** Collection names, in one place. */
export const collections = {
  orders: 'orders',
  services: 'services',
  windowLocks: 'order_window_locks',
  idempotencyKeys: 'idempotency_keys',
  outboxEvents: 'outbox_events',
} as const;

/**
 * Creates the indexes the queries rely on. createIndexes is idempotent for identical specs,
 * so every cold start may run it; it costs one round trip per collection.
 */
export async function ensureIndexes(db: Db): Promise<void> {
  await Promise.all([
    // The window check is a range on datetime; lists sort by (datetime, _id).
    db.collection(collections.orders).createIndexes([
      { key: { datetime: 1, _id: 1 }, name: 'datetime_id' },
      // Deleting a service asks whether any order still references it.
      { key: { 'services.id': 1 }, name: 'services_id' },
    ]),
    // MongoDB's TTL monitor removes keys a day after their first use.
    db
      .collection(collections.idempotencyKeys)
      .createIndexes([{ key: { createdAt: 1 }, name: 'created_ttl', expireAfterSeconds: IDEMPOTENCY_TTL_SECONDS }]),
    db.collection(collections.outboxEvents).createIndexes([
      // The relay's reads: the undelivered events (deliveredAt null) by resource, in order.
      { key: { deliveredAt: 1, resource: 1, since: 1, version: 1 }, name: 'undelivered_by_resource' },
      // The oldest undelivered events: where the relay starts, and the age the sweep reports.
      { key: { deliveredAt: 1, at: 1 }, name: 'undelivered_by_age' },
      // The TTL monitor skips null (undelivered) and removes delivered events after the retention.
      { key: { deliveredAt: 1 }, name: 'delivered_ttl', expireAfterSeconds: DELIVERED_EVENT_RETENTION_SECONDS },
    ]),
  ]);
}
