import type { AnyBulkWriteOperation, ClientSession, Db, Document } from 'mongodb';
import { collections } from './indexes.ts';

/**
 * A lock document in `order_window_locks`: a window bucket or a service guard stripe, written so
 * that transactions touching the same one conflict. `writes` counts the writes that do not vouch
 * for a service (a window lock's, a service delete's, any write by an earlier release); a guard
 * stripe is live while `live` equals it (see `LIVE_STRIPE`), and an order write that finds it live
 * bumps `orderWrites` instead, so that it stays live.
 */
interface LockDocument {
  _id: string;
  writes?: number;
  live?: number;
  orderWrites?: number;
}

/**
 * A guard stripe that vouches for its service: marked (`markStripesLive`) in a transaction that
 * saw the service, and un-marked by any later write of `writes`, which every service delete makes
 * (`writeLocks` over all its stripes). So, in any snapshot, a live stripe means its service exists.
 */
const LIVE_STRIPE = { live: { $exists: true }, $expr: { $eq: ['$live', '$writes'] } } as const;

/**
 * Writes (upserts and bumps) each lock document in one bulkWrite, inside the caller's
 * transaction: any other transaction writing one of them then conflicts with this one. Bumps
 * `writes`, so a guard stripe written here is no longer live (what a service delete needs).
 */
export async function writeLocks(db: Db, keys: readonly string[], session: ClientSession): Promise<void> {
  await writeAll(db, keys.map(bumpLock), session);
}

/** A lock's write: upserted, and `writes` bumped. */
function bumpLock(key: string): AnyBulkWriteOperation<LockDocument> {
  return { updateOne: { filter: { _id: key }, update: { $inc: { writes: 1 } }, upsert: true } };
}

/** Runs lock writes in order as one bulkWrite inside the caller's transaction. */
function writeAll(db: Db, writes: AnyBulkWriteOperation<LockDocument>[], session: ClientSession) {
  return db.collection<LockDocument>(collections.windowLocks).bulkWrite(writes, { session, ordered: true });
}

/**
 * The claim of an order write before MongoDB 8.0, in one update command inside the caller's
 * transaction: upserts and bumps the window locks, and bumps each guard stripe that is live
 * (`LIVE_STRIPE`). Returns whether every stripe was live: then every referenced service exists in
 * this snapshot, and a delete of one of them conflicts with this write (it writes every stripe),
 * so the caller needs no read of the services. Otherwise it reads them, and marks their stripes
 * (`markStripesLive`) when they exist.
 */
export async function writeClaimLocks(
  db: Db,
  windowKeys: readonly string[],
  stripeKeys: readonly string[],
  session: ClientSession,
): Promise<{ stripesLive: boolean }> {
  const result = await writeAll(
    db,
    [
      ...windowKeys.map(bumpLock),
      ...stripeKeys.map(
        (key): AnyBulkWriteOperation<LockDocument> => ({
          updateOne: { filter: { _id: key, ...LIVE_STRIPE }, update: { $inc: { orderWrites: 1 } }, upsert: false },
        }),
      ),
    ],
    session,
  );
  // Each window lock is matched or upserted; a stripe is only ever matched, and only when live.
  const windowLocksMatched = windowKeys.length - result.upsertedCount;
  return { stripesLive: result.matchedCount - windowLocksMatched === stripeKeys.length };
}

/**
 * Marks guard stripes live (upserting them), inside a transaction that has seen their services
 * exist: a real write (`writes` bumped, `live` set to it), so a concurrent delete of the service,
 * which writes every stripe, conflicts with it.
 */
export async function markStripesLive(db: Db, stripeKeys: readonly string[], session: ClientSession): Promise<void> {
  const mark: Document[] = [
    { $set: { writes: { $add: [{ $ifNull: ['$writes', 0] }, 1] } } },
    { $set: { live: '$writes' } },
  ];
  await writeAll(
    db,
    stripeKeys.map((key) => ({ updateOne: { filter: { _id: key }, update: mark, upsert: true } })),
    session,
  );
}
