/**
 * A transaction its client abandoned (a Lambda container reclaimed before its commit sends
 * nothing, not even endSessions) keeps its writes' locks until the server aborts it after
 * transactionLifetimeLimitSeconds, as mongod does: writes that touch the same documents conflict
 * until then and succeed after. On a server of its own, so the lowered limit disturbs no other file.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type MongoClient, MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { withServer } from '../support/restart.ts';

async function conflictingWrite(client: MongoClient): Promise<number | 'ok'> {
  const session = client.startSession();
  try {
    session.startTransaction();
    await client
      .db('lifetime')
      .collection<{ _id: string; n: number }>('locks')
      .updateOne({ _id: 'window' }, { $inc: { n: 1 } }, { session });
    await session.commitTransaction();
    return 'ok';
  } catch (error) {
    await session.abortTransaction().catch(() => {});
    if (error instanceof MongoServerError) return error.code as number;
    throw error;
  } finally {
    await session.endSession();
  }
}

describe('an abandoned transaction', () => {
  it('holds its locks until transactionLifetimeLimitSeconds, then is aborted and its commit refused', async () => {
    await withServer(undefined, async (client) => {
      await client.db('admin').command({ setParameter: 1, transactionLifetimeLimitSeconds: 1 });
      const locks = client.db('lifetime').collection<{ _id: string; n: number }>('locks');
      await locks.insertOne({ _id: 'window', n: 0 });
      const abandoned = client.startSession();
      abandoned.startTransaction();
      await locks.updateOne({ _id: 'window' }, { $inc: { n: 100 } }, { session: abandoned });
      // While it is open, another transaction's write of the same document is a write conflict.
      expect(await conflictingWrite(client)).toBe(112);
      let outcome: number | 'ok' = 112;
      for (let attempt = 0; attempt < 100 && outcome !== 'ok'; attempt += 1) {
        await sleep(100);
        outcome = await conflictingWrite(client);
      }
      expect(outcome).toBe('ok');
      // The abandoned transaction is gone: its commit is refused and its write never lands.
      const commit = await abandoned.commitTransaction().then(
        () => 'committed',
        (error: MongoServerError) => error.code,
      );
      expect(commit).toBe(251);
      expect((await locks.findOne({ _id: 'window' }))?.n).toBe(1);
      await abandoned.endSession();
    });
  });
});
