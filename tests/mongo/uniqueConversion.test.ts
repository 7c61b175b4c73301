import type { Collection } from 'mongodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/mongo.ts';
import { serverError } from '../support/server-error.ts';

type Row = { _id: number; x: number; y?: number };

describe('collMod: prepareUnique, then unique (converting an index to unique, as MongoDB 6.0+)', () => {
  const { db } = useTestDatabase('unique_conversion');
  let coll: Collection<Row>;
  const collMod = (index: Record<string, unknown>) => db.command({ collMod: 'rows', index });

  beforeEach(async () => {
    await db.dropCollection('rows').catch(() => undefined);
    coll = db.collection<Row>('rows');
    await coll.insertMany([
      { _id: 1, x: 1 },
      { _id: 2, x: 1 },
      { _id: 3, x: 2 },
    ]);
    await coll.createIndex({ x: 1 });
  });

  it('prepareUnique refuses a new duplicate key (11000) but keeps the duplicates already there', async () => {
    expect(await collMod({ keyPattern: { x: 1 }, prepareUnique: true })).toMatchObject({
      prepareUnique_old: false,
      prepareUnique_new: true,
      ok: 1,
    });
    expect((await coll.indexes()).find((i) => i.name === 'x_1')).toMatchObject({ prepareUnique: true });
    expect((await serverError(coll.insertOne({ _id: 4, x: 2 }))).code).toBe(11000);
    expect((await serverError(coll.updateOne({ _id: 3 }, { $set: { x: 1 } }))).code).toBe(11000);
    // A document that already shares its key may still be updated without changing it.
    await coll.updateOne({ _id: 2 }, { $set: { y: 5 } });
    await coll.insertOne({ _id: 5, x: 9 });
    expect(await coll.countDocuments({ x: 1 })).toBe(2);
  });

  it('unique: true needs prepareUnique first (72), then lists every group of duplicates (359) and changes nothing', async () => {
    expect((await serverError(collMod({ keyPattern: { x: 1 }, unique: true }))).code).toBe(72);
    // Not in one step, and prepareUnique goes alone (mongod: 72 for both).
    expect((await serverError(collMod({ keyPattern: { x: 1 }, prepareUnique: true, unique: true }))).code).toBe(72);
    expect((await serverError(collMod({ keyPattern: { x: 1 }, prepareUnique: true, hidden: true }))).code).toBe(72);
    expect((await serverError(collMod({ keyPattern: { x: 1 }, unique: false }))).code).toBe(2);
    expect((await coll.indexes()).find((i) => i.name === 'x_1')?.prepareUnique).toBeUndefined();
    // An index that is unique already, the _id index among them, is left as it is.
    expect(await collMod({ name: '_id_', unique: true })).toMatchObject({ ok: 1 });
    await collMod({ keyPattern: { x: 1 }, prepareUnique: true });
    const err = await serverError(collMod({ keyPattern: { x: 1 }, unique: true }));
    expect(err.code).toBe(359);
    expect(err.codeName).toBe('CannotConvertIndexToUnique');
    expect(err.errorResponse.violations).toEqual([{ ids: [1, 2] }]);
    expect((await coll.indexes()).find((i) => i.name === 'x_1')?.unique).toBeUndefined();
  });

  it('converts once the duplicates are gone: the index is then unique and refuses duplicates', async () => {
    await collMod({ keyPattern: { x: 1 }, prepareUnique: true });
    await coll.deleteOne({ _id: 2 });
    expect(await collMod({ name: 'x_1', unique: true })).toMatchObject({ unique_new: true, ok: 1 });
    const index = (await coll.indexes()).find((i) => i.name === 'x_1');
    expect(index).toMatchObject({ unique: true });
    expect(index?.prepareUnique).toBeUndefined();
    expect((await serverError(coll.insertOne({ _id: 7, x: 1 }))).code).toBe(11000);
  });

  it('creates an index with prepareUnique directly (createIndexes; the driver helper drops the option)', async () => {
    await db.command({ createIndexes: 'rows', indexes: [{ key: { y: 1 }, name: 'y_1', prepareUnique: true }] });
    await coll.updateOne({ _id: 1 }, { $set: { y: 1 } });
    expect((await serverError(coll.updateOne({ _id: 2 }, { $set: { y: 1 } }))).code).toBe(11000);
  });
});
