import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/mongo.ts';
import { acrossRestart } from '../support/restart.ts';
import { serverError } from '../support/server-error.ts';

interface Reading {
  _id: number;
  v: string;
}

describe('clustered collections (clusteredIndex: {key: {_id: 1}, unique: true})', () => {
  const { client, db } = useTestDatabase('clustered');

  it('lists the cluster key as the only index and the option without an idIndex', async () => {
    await db.createCollection('named', { clusteredIndex: { key: { _id: 1 }, unique: true, name: 'by id' } });
    const [listed] = await db.listCollections({ name: 'named' }).toArray();
    expect(listed).toMatchObject({
      name: 'named',
      type: 'collection',
      options: { clusteredIndex: { v: 2, key: { _id: 1 }, name: 'by id', unique: true } },
    });
    expect(listed).not.toHaveProperty('idIndex');
    expect(await db.collection('named').listIndexes().toArray()).toEqual([
      { v: 2, key: { _id: 1 }, name: 'by id', unique: true, clustered: true },
    ]);
    await db.createCollection('unnamed', { clusteredIndex: { key: { _id: 1 }, unique: true } });
    expect(await db.collection('unnamed').listIndexes().toArray()).toEqual([
      { v: 2, key: { _id: 1 }, name: '_id_', unique: true, clustered: true },
    ]);
  });

  it('returns documents in _id order without a sort, keeps _id unique, and hints by the cluster key name', async () => {
    const coll = db.collection<Reading>('named');
    await coll.insertMany([
      { _id: 30, v: 'c' },
      { _id: 10, v: 'a' },
      { _id: 20, v: 'b' },
    ]);
    expect((await coll.find().toArray()).map((d) => d._id)).toEqual([10, 20, 30]);
    expect((await coll.find({ v: { $ne: 'b' } }).toArray()).map((d) => d._id)).toEqual([10, 30]);
    expect((await coll.find({}, { sort: { $natural: -1 } }).toArray()).map((d) => d._id)).toEqual([30, 20, 10]);
    expect((await serverError(coll.insertOne({ _id: 20, v: 'again' }))).code).toBe(11000);
    expect((await coll.find({}, { hint: 'by id' }).toArray()).length).toBe(3);
    // There is no index named _id_ on this collection.
    expect((await serverError(coll.find({}, { hint: '_id_' }).toArray())).code).toBe(2);
    // A secondary index works as on any collection.
    await coll.createIndex({ v: 1 });
    expect((await coll.listIndexes().toArray()).map((i) => i.name)).toEqual(['by id', 'v_1']);
  });

  it('keeps _id order for a transaction reading its own inserts', async () => {
    const coll = db.collection<Reading>('named');
    const session = client.startSession();
    try {
      session.startTransaction();
      await coll.insertOne({ _id: 15, v: 'mid' }, { session });
      expect((await coll.find({}, { session }).toArray()).map((d) => d._id)).toEqual([10, 15, 20, 30]);
      await session.abortTransaction();
    } finally {
      await session.endSession();
    }
  });

  it('refuses invalid clusteredIndex options with mongod codes', async () => {
    const create = async (clusteredIndex: unknown, extra: Record<string, unknown> = {}) =>
      (await serverError(db.command({ create: 'bad', clusteredIndex, ...extra }))).code;
    expect(await create({ key: { _id: 1 }, unique: false })).toBe(5979700);
    expect(await create({ key: { a: 1 }, unique: true })).toBe(197);
    expect(await create({ key: { _id: 1 } })).toBe(40414);
    expect(await create('yes')).toBe(5979702);
    expect(await create({ key: { _id: 1 }, unique: true }, { size: 1000 })).toBe(6049200);
    expect(await create({ key: { _id: 1 }, unique: true }, { max: 10 })).toBe(6049204);
    expect(await db.listCollections({ name: 'bad' }).toArray()).toEqual([]);
  });

  it('stays clustered after a restart from the journal', async () => {
    await acrossRestart(
      async (c) => {
        const d = c.db('clusteredPersist');
        await d.createCollection('r', { clusteredIndex: { key: { _id: 1 }, unique: true } });
        await d.collection<Reading>('r').insertMany([
          { _id: 2, v: 'b' },
          { _id: 1, v: 'a' },
        ]);
      },
      async (c) => {
        const d = c.db('clusteredPersist');
        expect((await d.collection<Reading>('r').find().toArray()).map((x) => x._id)).toEqual([1, 2]);
        expect((await d.collection('r').listIndexes().toArray())[0]).toMatchObject({ clustered: true });
      },
    );
  });
});
