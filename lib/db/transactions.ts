import type { ClientSession, MongoClient, TransactionOptions } from 'mongodb';

const TRANSACTION_OPTIONS: TransactionOptions = {
  readConcern: { level: 'snapshot' },
  writeConcern: { w: 'majority' },
};

/**
 * Runs `work` in a snapshot transaction. The driver retries the whole callback on a
 * TransientTransactionError (a write conflict), so `work` must be safe to run again.
 */
export async function inTransaction<T>(client: MongoClient, work: (session: ClientSession) => Promise<T>): Promise<T> {
  const session = client.startSession();
  try {
    return await session.withTransaction(work, TRANSACTION_OPTIONS);
  } finally {
    await session.endSession();
  }
}
