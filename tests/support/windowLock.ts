import type { ClientSession, MongoClient } from 'mongodb';
import { windowLockKeys, windowMs } from '#lib/domain/orderWindow';

/** A lock document held by another writer's open transaction, until `release()`. */
export interface HeldLock {
  session: ClientSession;
  release(): Promise<void>;
}

/**
 * Makes another writer hold one key of `order_window_locks` (a window lock or a service guard
 * stripe) in an open transaction, so that a write needing it keeps hitting write conflicts until
 * `release()`.
 */
export async function holdLockKey(client: MongoClient, dbName: string, key: string): Promise<HeldLock> {
  const session = client.startSession();
  session.startTransaction();
  await client
    .db(dbName)
    .collection<{ _id: string; writes: number }>('order_window_locks')
    .updateOne({ _id: key }, { $inc: { writes: 1 } }, { upsert: true, session });
  return {
    session,
    release: async () => {
      await session.abortTransaction();
      await session.endSession();
    },
  };
}

/** Holds the window lock of an order at `datetime` (the default 3-hour window), as holdLockKey. */
export async function holdWindowLock(client: MongoClient, dbName: string, datetime: Date): Promise<HeldLock> {
  const [lockKey] = windowLockKeys(datetime, windowMs(180));
  return holdLockKey(client, dbName, lockKey as string);
}
