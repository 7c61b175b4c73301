import { type Collection, MongoServerError } from 'mongodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { useTestClient, useTestDatabase } from '../support/mongo.ts';

interface Slot {
  _id: number | string;
  v?: number;
  day?: string;
  owner?: string;
}

describe('sessions and transactions', () => {
  const { client: clientA, db } = useTestDatabase('txn');
  const clientB = useTestClient();
  let name: string;
  let a: Collection<Slot>;
  let b: Collection<Slot>;

  beforeEach(async () => {
    name = `slots_${Math.random().toString(36).slice(2, 8)}`;
    // Create outside any transaction (implicit creation inside one is not portable to older servers).
    await db.createCollection(name);
    a = db.collection<Slot>(name);
    b = clientB.db(db.databaseName).collection<Slot>(name);
    await a.insertMany([
      { _id: 1, v: 0 },
      { _id: 2, v: 0 },
    ]);
  });

  it('commits atomically and aborts without a trace', async () => {
    const session = clientA.startSession();
    try {
      session.startTransaction();
      await a.insertOne({ _id: 3, v: 3 }, { session });
      await a.updateOne({ _id: 1 }, { $set: { v: 1 } }, { session });
      expect(await a.findOne({ _id: 3 }, { session })).toEqual({ _id: 3, v: 3 }); // own writes
      expect(await b.findOne({ _id: 3 })).toBeNull(); // others don't see them yet
      await session.commitTransaction();
      expect(await b.find({}).sort({ _id: 1 }).toArray()).toEqual([
        { _id: 1, v: 1 },
        { _id: 2, v: 0 },
        { _id: 3, v: 3 },
      ]);

      session.startTransaction();
      await a.deleteOne({ _id: 1 }, { session });
      await a.insertOne({ _id: 4 }, { session });
      await session.abortTransaction();
      expect(await b.countDocuments({ _id: { $in: [1, 4] } })).toBe(1);
      expect(await b.findOne({ _id: 1 })).toEqual({ _id: 1, v: 1 });
    } finally {
      await session.endSession();
    }
  });

  it('reads from a snapshot: a later commit by someone else is not visible', async () => {
    const session = clientA.startSession();
    try {
      session.startTransaction();
      expect(await a.findOne({ _id: 1 }, { session })).toEqual({ _id: 1, v: 0 });
      await b.updateOne({ _id: 1 }, { $set: { v: 9 } });
      await b.insertOne({ _id: 5, v: 5 });
      expect(await a.findOne({ _id: 1 }, { session })).toEqual({ _id: 1, v: 0 });
      expect(await a.countDocuments({}, { session })).toBe(2);
      await session.commitTransaction();
      expect(await a.findOne({ _id: 1 })).toEqual({ _id: 1, v: 9 });
    } finally {
      await session.endSession();
    }
  });

  it('fails a conflicting write at once with WriteConflict (112, TransientTransactionError)', async () => {
    const s1 = clientA.startSession();
    const s2 = clientB.startSession();
    try {
      s1.startTransaction();
      s2.startTransaction();
      await a.updateOne({ _id: 1 }, { $inc: { v: 1 } }, { session: s1 });
      const err = (await b
        .updateOne({ _id: 1 }, { $inc: { v: 1 } }, { session: s2 })
        .catch((e: unknown) => e)) as MongoServerError;
      expect(err).toBeInstanceOf(MongoServerError);
      expect(err.code).toBe(112);
      expect(err.hasErrorLabel('TransientTransactionError')).toBe(true);
      await s2.abortTransaction();
      await s1.commitTransaction();
      expect((await b.findOne({ _id: 1 }))?.v).toBe(1);

      // Committed by someone else after this transaction's snapshot: also a conflict.
      s1.startTransaction();
      await a.findOne({ _id: 2 }, { session: s1 });
      await b.updateOne({ _id: 2 }, { $set: { v: 7 } });
      const late = (await a
        .updateOne({ _id: 2 }, { $set: { v: 8 } }, { session: s1 })
        .catch((e: unknown) => e)) as MongoServerError;
      expect(late.code).toBe(112);
      await s1.abortTransaction();
    } finally {
      await s1.endSession();
      await s2.endSession();
    }
  });

  it('conflicts on a unique key inserted by another open transaction', async () => {
    await a.createIndex({ owner: 1 }, { unique: true, sparse: true });
    const s1 = clientA.startSession();
    const s2 = clientB.startSession();
    try {
      s1.startTransaction();
      s2.startTransaction();
      await a.insertOne({ _id: 'x1', owner: 'same' }, { session: s1 });
      const err = (await b
        .insertOne({ _id: 'x2', owner: 'same' }, { session: s2 })
        .catch((e: unknown) => e)) as MongoServerError;
      expect(err.code).toBe(112);
      await s2.abortTransaction();
      await s1.commitTransaction();
    } finally {
      await s1.endSession();
      await s2.endSession();
    }
  });

  it('withTransaction retries after a write conflict and then succeeds', async () => {
    const holder = clientB.startSession();
    const retrier = clientA.startSession();
    try {
      holder.startTransaction();
      await b.updateOne({ _id: 2 }, { $inc: { v: 1 } }, { session: holder });
      let calls = 0;
      const done = retrier.withTransaction(async () => {
        calls++;
        if (calls === 2) await holder.commitTransaction(); // let the next attempt through
        await a.updateOne({ _id: 2 }, { $inc: { v: 10 } }, { session: retrier });
      });
      await done;
      expect(calls).toBeGreaterThanOrEqual(2);
      expect((await a.findOne({ _id: 2 }))?.v).toBe(11);
    } finally {
      await holder.endSession();
      await retrier.endSession();
    }
  });

  it('allows write skew: two transactions reading a range and inserting different documents both commit', async () => {
    const s1 = clientA.startSession();
    const s2 = clientB.startSession();
    try {
      s1.startTransaction();
      s2.startTransaction();
      expect(await a.countDocuments({ day: 'mon' }, { session: s1 })).toBe(0);
      expect(await b.countDocuments({ day: 'mon' }, { session: s2 })).toBe(0);
      await a.insertOne({ _id: 'p1', day: 'mon' }, { session: s1 });
      await b.insertOne({ _id: 'p2', day: 'mon' }, { session: s2 });
      await s1.commitTransaction();
      await s2.commitTransaction();
      expect(await a.countDocuments({ day: 'mon' })).toBe(2);
    } finally {
      await s1.endSession();
      await s2.endSession();
    }
  });

  it('makes a write outside any transaction wait for the transaction holding the document', async () => {
    const session = clientA.startSession();
    try {
      session.startTransaction();
      await a.updateOne({ _id: 1 }, { $set: { v: 100 } }, { session });
      let finished = false;
      const outside = b.updateOne({ _id: 1 }, { $inc: { v: 1 } }).then((r) => {
        finished = true;
        return r;
      });
      await new Promise((r) => setTimeout(r, 150));
      expect(finished).toBe(false);
      await session.commitTransaction();
      expect((await outside).modifiedCount).toBe(1);
      expect((await a.findOne({ _id: 1 }))?.v).toBe(101);
    } finally {
      await session.endSession();
    }
  });

  it('answers commit after abort and unknown transactions with NoSuchTransaction (251)', async () => {
    const session = clientA.startSession();
    try {
      session.startTransaction();
      await a.insertOne({ _id: 9 }, { session });
      await session.abortTransaction();
      const lsid = session.id;
      const txnNumber = (session as unknown as { serverSession: { txnNumber: number } }).serverSession.txnNumber;
      const afterAbort = (await clientA
        .db('admin')
        .command({ commitTransaction: 1, lsid, txnNumber, autocommit: false })
        .catch((e: unknown) => e)) as MongoServerError;
      expect(afterAbort.code).toBe(251);
      const unknown = (await db
        .command({ find: name, filter: {}, lsid, txnNumber: txnNumber + 5, autocommit: false })
        .catch((e: unknown) => e)) as MongoServerError;
      expect(unknown.code).toBe(251);
      expect(unknown.hasErrorLabel('TransientTransactionError')).toBe(true);
    } finally {
      await session.endSession();
    }
  });

  it('refuses $unionWith in a transaction, also inside a $lookup or $facet sub-pipeline, as mongod does (263)', async () => {
    const unionWith = { $unionWith: { coll: name } };
    // Outside a transaction it runs.
    expect(await a.aggregate([{ $match: { _id: 1 } }, unionWith]).toArray()).toHaveLength(3);
    const session = clientA.startSession();
    try {
      // A refused command aborts its transaction (as in mongod), so each pipeline gets its own.
      for (const pipeline of [
        [unionWith],
        [{ $lookup: { from: name, pipeline: [unionWith], as: 'x' } }],
        [{ $facet: { all: [unionWith] } }],
      ]) {
        session.startTransaction();
        const refused = await a
          .aggregate(pipeline, { session })
          .toArray()
          .catch((error: unknown) => error);
        expect(refused).toBeInstanceOf(MongoServerError);
        expect((refused as MongoServerError).code).toBe(263);
        expect((refused as MongoServerError).message).toBe(
          'Stage not supported inside of a multi-document transaction: $unionWith',
        );
        await session.abortTransaction().catch(() => undefined);
      }
      // $lookup itself is allowed (the API's 7.0 create path reads through it).
      session.startTransaction();
      const looked = a.aggregate([{ $lookup: { from: name, localField: '_id', foreignField: '_id', as: 'x' } }], {
        session,
      });
      expect(await looked.toArray()).toHaveLength(2);
      await session.abortTransaction();
    } finally {
      await session.endSession();
    }
  });
});
