import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/mongo.ts';
import { acrossRestart } from '../support/restart.ts';
import { serverError } from '../support/server-error.ts';

interface Item {
  _id: number;
  kind: string;
  qty: number;
}

describe('views (create with viewOn + pipeline, MongoDB 7.0 semantics)', () => {
  const { client, db } = useTestDatabase('views');

  beforeAll(async () => {
    await db.collection<Item>('items').insertMany([
      { _id: 1, kind: 'a', qty: 5 },
      { _id: 2, kind: 'b', qty: 7 },
      { _id: 3, kind: 'a', qty: 1 },
      { _id: 4, kind: 'c', qty: 9 },
    ]);
    await db.createCollection('big', { viewOn: 'items', pipeline: [{ $match: { qty: { $gt: 2 } } }] });
    await db.createCollection('bigKinds', { viewOn: 'big', pipeline: [{ $project: { _id: 1, kind: 1 } }] });
  });

  it('find on a view runs its pipeline, then the filter, sort, skip, limit and projection', async () => {
    const big = db.collection<Item>('big');
    expect(await big.find({}, { sort: { _id: 1 } }).toArray()).toEqual([
      { _id: 1, kind: 'a', qty: 5 },
      { _id: 2, kind: 'b', qty: 7 },
      { _id: 4, kind: 'c', qty: 9 },
    ]);
    const page = await big
      .find({ kind: { $ne: 'b' } }, { sort: { qty: -1 }, skip: 1, limit: 1, projection: { _id: 0, qty: 1 } })
      .toArray();
    expect(page).toEqual([{ qty: 5 }]);
    // A view on a view: both pipelines, innermost first.
    expect(
      await db
        .collection('bigKinds')
        .find({}, { sort: { _id: -1 } })
        .toArray(),
    ).toEqual([
      { _id: 4, kind: 'c' },
      { _id: 2, kind: 'b' },
      { _id: 1, kind: 'a' },
    ]);
  });

  it('count, estimatedDocumentCount, countDocuments, distinct and aggregate read through the view', async () => {
    const big = db.collection<Item>('big');
    expect(await big.estimatedDocumentCount()).toBe(3);
    expect(await big.countDocuments({ kind: 'a' })).toBe(1);
    expect(await db.command({ count: 'big', query: { qty: { $lt: 9 } }, skip: 1 })).toMatchObject({ n: 1 });
    expect((await big.distinct('kind')).sort()).toEqual(['a', 'b', 'c']);
    expect(await big.aggregate([{ $group: { _id: null, total: { $sum: '$qty' } } }]).toArray()).toEqual([
      { _id: null, total: 21 },
    ]);
    // $lookup from a view resolves the view too.
    const joined = await db
      .collection('items')
      .aggregate([
        { $match: { _id: 3 } },
        { $lookup: { from: 'big', localField: 'kind', foreignField: 'kind', as: 'bigOfKind' } },
        { $project: { n: { $size: '$bigOfKind' } } },
      ])
      .toArray();
    expect(joined).toEqual([{ _id: 3, n: 1 }]);
    const union = await db
      .collection('items')
      .aggregate([{ $match: { _id: 3 } }, { $unionWith: { coll: 'bigKinds' } }, { $sort: { _id: 1 } }])
      .toArray();
    expect(union.map((d) => d._id)).toEqual([1, 2, 3, 4]);
    expect(union.find((d) => d._id === 4)).toEqual({ _id: 4, kind: 'c' });
  });

  it('writes and index commands on a view fail with 166 CommandNotSupportedOnView; the source is untouched', async () => {
    const big = db.collection<Item>('big');
    const codes = [
      (await serverError(big.insertOne({ _id: 9, kind: 'z', qty: 3 }))).code,
      (await serverError(big.updateOne({ _id: 1 }, { $set: { qty: 100 } }))).code,
      (await serverError(big.deleteMany({}))).code,
      (await serverError(big.findOneAndDelete({ _id: 1 }))).code,
      (await serverError(big.findOneAndUpdate({ _id: 1 }, { $inc: { qty: 1 } }))).code,
      (await serverError(big.createIndex({ kind: 1 }))).code,
      (await serverError(big.listIndexes().toArray())).code,
      (await serverError(big.dropIndex('kind_1'))).code,
    ];
    expect(codes).toEqual([166, 166, 166, 166, 166, 166, 166, 166]);
    const err = await serverError(big.insertOne({ _id: 9, kind: 'z', qty: 3 }));
    expect(err.message).toBe(`Namespace ${db.databaseName}.big is a view, not a collection`);
    expect(await db.collection('items').countDocuments()).toBe(4);
  });

  it('listCollections shows a view with its definition; drop removes only the view', async () => {
    const [listed] = await db.listCollections({ name: 'big' }).toArray();
    expect(listed).toEqual({
      name: 'big',
      type: 'view',
      options: { viewOn: 'items', pipeline: [{ $match: { qty: { $gt: 2 } } }] },
      info: { readOnly: true },
    });
    await db.createCollection('temp', { viewOn: 'items' });
    const [temp] = (await db.listCollections({ name: 'temp' }).toArray()) as { options?: unknown }[];
    expect(temp?.options).toEqual({ viewOn: 'items', pipeline: [] });
    expect(await db.collection('temp').drop()).toBe(true);
    expect(await db.listCollections({ name: 'temp' }).toArray()).toEqual([]);
    expect(await db.collection('items').countDocuments()).toBe(4);
  });

  it('refuses bad view definitions with mongod codes', async () => {
    const create = async (cmd: Record<string, unknown>) =>
      (await serverError(db.command({ create: 'bad', ...cmd }))).code;
    expect(await create({ pipeline: [] })).toBe(72);
    expect(await create({ viewOn: 5 })).toBe(14);
    expect(await create({ viewOn: 'items', pipeline: {} })).toBe(14);
    expect(await create({ viewOn: '' })).toBe(2);
    expect(await create({ viewOn: 'items', pipeline: [{ $out: 'x' }] })).toBe(167);
    expect(await create({ viewOn: 'items', pipeline: [{ $nope: 1 }] })).toBe(40324);
    expect(await create({ viewOn: 'bad' })).toBe(93);
    await db.createCollection('loopA', { viewOn: 'loopB' });
    expect((await serverError(db.command({ create: 'loopB', viewOn: 'loopA' }))).code).toBe(93);
    expect((await serverError(db.command({ create: 'big', viewOn: 'items' }))).code).toBe(48);
    expect((await serverError(db.command({ create: 'items', viewOn: 'big' }))).code).toBe(48);
    expect(await db.listCollections({ name: 'bad' }).toArray()).toEqual([]);
  });

  it('refuses find options aggregation lacks (168) and view creation inside a transaction (263)', async () => {
    const find = async (cmd: Record<string, unknown>) => (await serverError(db.command({ find: 'big', ...cmd }))).code;
    expect(await find({ min: { _id: 1 }, hint: { _id: 1 } })).toBe(168);
    expect(await find({ returnKey: true })).toBe(168);
    expect(await find({ showRecordId: true })).toBe(168);
    expect(await find({ sort: { $natural: 1 } })).toBe(168);
    const session = client.startSession();
    try {
      session.startTransaction();
      await db.collection<Item>('items').findOne({ _id: 1 }, { session });
      const err = await serverError(db.command({ create: 'inTxn', viewOn: 'items' }, { session }));
      expect(err.code).toBe(263);
      await session.abortTransaction();
    } finally {
      await session.endSession();
    }
  });

  it('a view survives a restart from the journal', async () => {
    await acrossRestart(
      async (c) => {
        await c
          .db('persisted')
          .collection<{ _id: number; v: number }>('src')
          .insertMany([
            { _id: 1, v: 1 },
            { _id: 2, v: 2 },
          ]);
        await c.db('persisted').createCollection('even', { viewOn: 'src', pipeline: [{ $match: { v: 2 } }] });
      },
      async (c) => {
        expect(await c.db('persisted').collection('even').find().toArray()).toEqual([{ _id: 2, v: 2 }]);
        const [listed] = await c.db('persisted').listCollections({ name: 'even' }).toArray();
        expect(listed?.type).toBe('view');
      },
    );
  });
});
