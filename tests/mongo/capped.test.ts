import { type Document, Long } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/mongo.ts';
import { acrossRestart } from '../support/restart.ts';
import { serverError } from '../support/server-error.ts';

interface Entry {
  _id: number;
  msg?: string;
}

describe('capped collections and tailable cursors (MongoDB 7.0 semantics)', () => {
  const { client, db } = useTestDatabase('capped');

  const ids = async (name: string): Promise<unknown[]> =>
    (await db.collection<Entry>(name).find().toArray()).map((d) => d._id);

  it('lists capped options (size rounded up to 256) and reports them in collStats and $collStats', async () => {
    await db.createCollection('log', { capped: true, size: 1000, max: 3 });
    const [listed] = await db.listCollections({ name: 'log' }).toArray();
    expect(listed).toMatchObject({ options: { capped: true, size: 1024, max: 3 } });
    expect(await db.command({ collStats: 'log' })).toMatchObject({ capped: true, max: 3, maxSize: 1024 });
    const [stats] = await db
      .collection('log')
      .aggregate([
        { $collStats: { storageStats: {} } },
        { $project: { capped: '$storageStats.capped', maxSize: '$storageStats.maxSize' } },
      ])
      .toArray();
    expect(stats).toEqual({ capped: true, maxSize: 1024 });
  });

  it('keeps insertion order and removes the oldest documents beyond max', async () => {
    const log = db.collection<Entry>('log');
    for (const _id of [50, 40, 30, 20, 10]) await log.insertOne({ _id });
    expect(await ids('log')).toEqual([30, 20, 10]);
    await log.insertMany([{ _id: 5 }, { _id: 6 }]);
    expect(await ids('log')).toEqual([10, 5, 6]);
    expect(await log.find({}, { sort: { $natural: -1 } }).toArray()).toEqual([{ _id: 6 }, { _id: 5 }, { _id: 10 }]);
  });

  it('removes the oldest documents beyond size, never the one just inserted', async () => {
    await db.createCollection('bytes', { capped: true, size: 256 });
    const bytes = db.collection<Entry>('bytes');
    const msg = 'x'.repeat(90); // each document is 114 bytes of BSON
    for (let i = 1; i <= 5; i++) await bytes.insertOne({ _id: i, msg });
    expect(await ids('bytes')).toEqual([4, 5]);
    await bytes.insertOne({ _id: 6, msg: 'y'.repeat(400) });
    expect(await ids('bytes')).toEqual([6]);
  });

  it('allows deletes and size-changing updates (since 5.3), keeping the insertion order', async () => {
    await db.createCollection('mutable', { capped: true, size: 4096 });
    const coll = db.collection<Entry>('mutable');
    await coll.insertMany([{ _id: 1 }, { _id: 2 }, { _id: 3 }]);
    expect((await coll.deleteOne({ _id: 2 })).deletedCount).toBe(1);
    await coll.updateOne({ _id: 1 }, { $set: { msg: 'grown by an update' } });
    expect(await coll.find().toArray()).toEqual([{ _id: 1, msg: 'grown by an update' }, { _id: 3 }]);
  });

  it('refuses bad capped options and writes inside a transaction with mongod codes', async () => {
    const create = async (cmd: Document) => (await serverError(db.command({ create: 'bad', ...cmd }))).code;
    expect(await create({ capped: true })).toBe(72);
    expect(await create({ size: 4096 })).toBe(72);
    expect(await create({ capped: false, max: 3 })).toBe(72);
    expect(await create({ capped: true, size: -1 })).toBe(2);
    expect(await create({ capped: true, size: 4096, max: 2 ** 31 })).toBe(2);
    expect(await db.listCollections({ name: 'bad' }).toArray()).toEqual([]);
    expect((await serverError(db.collection('mutable').createIndex({ at: 1 }, { expireAfterSeconds: 60 }))).code).toBe(
      67,
    );

    const session = client.startSession();
    try {
      session.startTransaction();
      const err = await serverError(db.collection<Entry>('mutable').insertOne({ _id: 9 }, { session }));
      expect(err.code).toBe(263);
      await session.abortTransaction().catch(() => undefined);
    } finally {
      await session.endSession();
    }
    expect(await ids('mutable')).toEqual([1, 3]);
  });

  it('a tailable cursor stays open at the end and returns documents inserted later', async () => {
    await db.createCollection('feed', { capped: true, size: 4096, max: 3 });
    const feed = db.collection<Entry>('feed');
    await feed.insertMany([{ _id: 1 }, { _id: 2 }]);
    const first = await db.command({ find: 'feed', filter: { _id: { $ne: 4 } }, tailable: true, batchSize: 2 });
    expect(first.cursor.firstBatch).toEqual([{ _id: 1 }, { _id: 2 }]);
    const id = first.cursor.id as Long;
    expect(Long.fromValue(id).isZero()).toBe(false);
    const more = () => db.command({ getMore: id, collection: 'feed' });
    const empty = await more();
    expect(empty.cursor.nextBatch).toEqual([]);
    expect(Long.fromValue(empty.cursor.id).isZero()).toBe(false);
    await feed.insertMany([{ _id: 3 }, { _id: 4 }]);
    expect((await more()).cursor.nextBatch).toEqual([{ _id: 3 }]);
    // The collection wraps past the cursor's position (_id 4 evicts 1 and 2; 5, 6, 7 evict 3 and 4).
    await feed.insertMany([{ _id: 5 }, { _id: 6 }, { _id: 7 }]);
    expect((await serverError(more())).code).toBe(136);
  });

  it('an awaitData getMore waits for an insert; tailable misuse gets mongod errors', async () => {
    await db.createCollection('waiting', { capped: true, size: 4096 });
    const coll = db.collection<Entry>('waiting');
    await coll.insertOne({ _id: 1 });
    const first = await db.command({ find: 'waiting', tailable: true, awaitData: true });
    const id = first.cursor.id as Long;
    const waited = db.command({ getMore: id, collection: 'waiting', maxTimeMS: 5000 });
    setTimeout(() => void coll.insertOne({ _id: 2 }), 150);
    expect((await waited).cursor.nextBatch).toEqual([{ _id: 2 }]);
    const timedOut = await db.command({ getMore: id, collection: 'waiting', maxTimeMS: 50 });
    expect(timedOut.cursor.nextBatch).toEqual([]);

    // A tailable cursor on an empty capped collection is not kept (mongod's SERVER-13955).
    await db.createCollection('emptyCapped', { capped: true, size: 4096 });
    const none = await db.command({ find: 'emptyCapped', tailable: true });
    expect(Long.fromValue(none.cursor.id).isZero()).toBe(true);

    await db.collection<Entry>('plain').insertOne({ _id: 1 });
    const find = async (cmd: Document) => (await serverError(db.command(cmd))).code;
    expect(await find({ find: 'plain', tailable: true })).toBe(2);
    expect(await find({ find: 'waiting', awaitData: true })).toBe(9);
    expect(await find({ find: 'waiting', tailable: true, sort: { _id: 1 } })).toBe(2);
    const plainCursor = await db.command({ find: 'plain', batchSize: 0 });
    expect(
      (await serverError(db.command({ getMore: plainCursor.cursor.id, collection: 'plain', maxTimeMS: 10 }))).code,
    ).toBe(2);
  });

  it('capped options and eviction survive a restart from the journal', async () => {
    await acrossRestart(
      async (c) => {
        const d = c.db('cappedPersist');
        await d.createCollection('ring', { capped: true, size: 4096, max: 2 });
        await d.collection<Entry>('ring').insertMany([{ _id: 3 }, { _id: 2 }, { _id: 1 }]);
      },
      async (c) => {
        const ring = c.db('cappedPersist').collection<Entry>('ring');
        expect((await ring.find().toArray()).map((d) => d._id)).toEqual([2, 1]);
        await ring.insertOne({ _id: 0 });
        expect((await ring.find().toArray()).map((d) => d._id)).toEqual([1, 0]);
      },
    );
  });
});
