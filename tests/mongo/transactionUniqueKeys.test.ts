/**
 * Snapshot isolation and unique indexes: a transaction may not insert a unique key that another
 * transaction committed after its snapshot, although its snapshot does not see that key. mongod
 * answers WriteConflict (112, TransientTransactionError); letting it through would leave two
 * documents holding the same unique key.
 */
import { type Collection, MongoServerError } from 'mongodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { useTestClient, useTestDatabase } from '../support/mongo.ts';

interface Account {
  _id: string;
  email?: string;
}

describe('a unique key committed after a transaction snapshot', () => {
  const { client: clientA, db } = useTestDatabase('txn_unique');
  const clientB = useTestClient();
  let a: Collection<Account>;
  let b: Collection<Account>;

  beforeEach(async () => {
    const name = `accounts_${Math.random().toString(36).slice(2, 8)}`;
    await db.createCollection(name);
    a = db.collection<Account>(name);
    b = clientB.db(db.databaseName).collection<Account>(name);
    await a.createIndex({ email: 1 }, { unique: true });
    await a.insertOne({ _id: 'seed', email: 'seed@example.com' });
  });

  /** Starts a transaction on `session` and fixes its snapshot with a read. */
  async function openSnapshot(session: ReturnType<typeof clientA.startSession>): Promise<void> {
    session.startTransaction();
    expect(await a.findOne({ email: 'same@example.com' }, { session })).toBeNull();
  }

  it('fails the insert with WriteConflict when another transaction committed the key meanwhile', async () => {
    const s1 = clientA.startSession();
    const s2 = clientB.startSession();
    try {
      await openSnapshot(s1);
      s2.startTransaction();
      await b.insertOne({ _id: 'two', email: 'same@example.com' }, { session: s2 });
      await s2.commitTransaction();
      // s1's snapshot still does not see 'two'...
      expect(await a.findOne({ email: 'same@example.com' }, { session: s1 })).toBeNull();
      // ...but its insert of the same key must not go through.
      const err = (await a
        .insertOne({ _id: 'one', email: 'same@example.com' }, { session: s1 })
        .catch((e: unknown) => e)) as MongoServerError;
      expect(err).toBeInstanceOf(MongoServerError);
      expect(err.code).toBe(112);
      expect(err.hasErrorLabel('TransientTransactionError')).toBe(true);
      await s1.abortTransaction().catch(() => {});
      expect(await a.find({ email: 'same@example.com' }).toArray()).toEqual([
        { _id: 'two', email: 'same@example.com' },
      ]);
    } finally {
      await s1.endSession();
      await s2.endSession();
    }
  });

  it('lets withTransaction retry on a fresh snapshot, which then sees the key and refuses it as a duplicate', async () => {
    const session = clientA.startSession();
    let attempts = 0;
    try {
      const outcome = await session
        .withTransaction(async () => {
          attempts += 1;
          const taken = await a.findOne({ email: 'same@example.com' }, { session });
          if (attempts === 1) {
            expect(taken).toBeNull();
            // Committed outside this transaction, after its snapshot.
            await b.insertOne({ _id: 'outside', email: 'same@example.com' });
          }
          await a.insertOne({ _id: `inside-${attempts}`, email: 'same@example.com' }, { session });
        })
        .catch((e: unknown) => e);
      expect(outcome).toBeInstanceOf(MongoServerError);
      expect((outcome as MongoServerError).code).toBe(11000);
      expect(attempts).toBe(2);
    } finally {
      await session.endSession();
    }
    expect(await a.countDocuments({ email: 'same@example.com' })).toBe(1);
  });
});
