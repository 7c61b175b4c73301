import type { AnyBulkWriteOperation, ClientSession, Db } from 'mongodb';
import { collections } from './indexes.ts';

/**
 * A lock document in `order_window_locks`: a window bucket or a service guard stripe. Only ever
 * written (a counter bump) so that transactions touching the same one conflict.
 */
interface LockDocument {
  _id: string;
  writes: number;
}

/**
 * Writes (upserts and bumps) each lock document in one bulkWrite, inside the caller's
 * transaction: any other transaction writing one of them then conflicts with this one.
 */
export async function writeLocks(db: Db, keys: readonly string[], session: ClientSession): Promise<void> {
  const writes: AnyBulkWriteOperation<LockDocument>[] = keys.map((key) => ({
    updateOne: { filter: { _id: key }, update: { $inc: { writes: 1 } }, upsert: true },
  }));
  await db.collection<LockDocument>(collections.windowLocks).bulkWrite(writes, { session, ordered: true });
}
