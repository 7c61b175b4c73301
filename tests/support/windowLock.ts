import type { ClientSession, MongoClient } from 'mongodb';
import { windowLockKeys, windowMs } from '#lib/domain/orderWindow';

/**
 * Makes another writer hold the window lock of an order at `datetime` (the default 3-hour window) in
 * an open transaction, so that a create there keeps hitting write conflicts until `release()`.
 */
export async function holdWindowLock(
  client: MongoClient,
  dbName: string,
  datetime: Date,
): Promise<{ session: ClientSession; release(): Promise<void> }> {
  const [lockKey] = windowLockKeys(datetime, windowMs(180));
  const session = client.startSession();
  session.startTransaction();
  await client
    .db(dbName)
    .collection<{ _id: string; writes: number }>('order_window_locks')
    .updateOne({ _id: lockKey as string }, { $inc: { writes: 1 } }, { upsert: true, session });
  return {
    session,
    release: async () => {
      await session.abortTransaction();
      await session.endSession();
    },
  };
}
