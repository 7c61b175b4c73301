import { type Collection, Long } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/mongo.ts';
import { serverError } from '../support/server-error.ts';

describe('find options returnKey, showRecordId, min and max (MongoDB 7.0 semantics)', () => {
  const { db } = useTestDatabase('findopts');
  let coll: Collection<{ _id: number; a: number; b?: string }>;

  beforeAll(async () => {
    coll = db.collection<{ _id: number; a: number; b?: string }>('items');
    await coll.insertMany([
      { _id: 1, a: 5, b: 'x' },
      { _id: 2, a: 3, b: 'y' },
      { _id: 3, a: 9, b: 'z' },
      { _id: 4, a: 1 },
    ]);
    await coll.createIndex({ a: -1 });
  });

  it('min is inclusive and max exclusive, in the hinted index order (descending index included)', async () => {
    const byId = await coll.find({}, { hint: { _id: 1 }, min: { _id: 2 }, max: { _id: 4 } }).toArray();
    expect(byId.map((d) => d._id)).toEqual([2, 3]);
    // On {a: -1} the index order is 9, 5, 3, 1: min 9 .. max 3 is [9, 5].
    const byA = await coll.find({}, { hint: 'a_-1', min: { a: 9 }, max: { a: 3 } }).toArray();
    expect(byA.map((d) => d.a)).toEqual([9, 5]);
    // Only max: from the start of the index; the filter, sort, skip and projection still apply.
    const filtered = await coll
      .find(
        { b: { $exists: true } },
        { hint: { a: -1 }, max: { a: 1 }, sort: { _id: -1 }, skip: 1, projection: { _id: 1 } },
      )
      .toArray();
    expect(filtered).toEqual([{ _id: 2 }, { _id: 1 }]);
  });

  it('refuses min/max without a hint (51173), with an index of other fields (51174), and min not before max (51175)', async () => {
    expect((await serverError(coll.find({}, { min: { _id: 1 } }).toArray())).code).toBe(51173);
    expect((await serverError(coll.find({}, { hint: { a: -1 }, min: { _id: 1 } }).toArray())).code).toBe(51174);
    expect((await serverError(coll.find({}, { hint: { _id: 1 }, max: { _id: 1, a: 1 } }).toArray())).code).toBe(51174);
    expect(
      (await serverError(coll.find({}, { hint: { _id: 1 }, min: { _id: 3 }, max: { _id: 3 } }).toArray())).code,
    ).toBe(51175);
    expect((await serverError(coll.find({}, { hint: 'nope_1', min: { nope: 1 } }).toArray())).code).toBe(2);
  });

  it('returnKey returns the key of the index read, and {} for a collection scan', async () => {
    expect(await coll.find({}, { sort: { _id: 1 }, returnKey: true }).toArray()).toEqual([
      { _id: 1 },
      { _id: 2 },
      { _id: 3 },
      { _id: 4 },
    ]);
    expect(await coll.find({}, { hint: { a: -1 }, returnKey: true, projection: { b: 1 } }).toArray()).toEqual([
      { a: 9 },
      { a: 5 },
      { a: 3 },
      { a: 1 },
    ]);
    expect(await coll.find({ b: 'x' }, { returnKey: true }).toArray()).toEqual([{}]);
    // With returnKey, showRecordId is ignored (mongod drops the $recordId projection).
    expect(await coll.find({ _id: 2 }, { hint: { _id: 1 }, returnKey: true, showRecordId: true }).toArray()).toEqual([
      { _id: 2 },
    ]);
  });

  it('showRecordId appends $recordId, a Long taken at insertion and kept by updates', async () => {
    const other = db.collection<{ _id: string; v?: number }>('records');
    await other.insertMany([{ _id: 'p' }, { _id: 'q' }]);
    const before = await other.find({}, { showRecordId: true, promoteLongs: false }).toArray();
    expect(before.map((d) => Object.keys(d))).toEqual([
      ['_id', '$recordId'],
      ['_id', '$recordId'],
    ]);
    const [p, q] = before.map((d) => (d as Record<string, unknown>).$recordId as Long);
    expect(p).toBeInstanceOf(Long);
    expect((q as Long).greaterThan(p as Long)).toBe(true);
    await other.updateOne({ _id: 'p' }, { $set: { v: 1 } });
    const after = await other
      .find({ _id: 'p' }, { showRecordId: true, promoteLongs: false, projection: { v: 1 } })
      .toArray();
    expect(after).toEqual([{ _id: 'p', v: 1, $recordId: p }]);
  });

  it('rejects non-boolean returnKey/showRecordId and non-document min/max (14)', async () => {
    const bad = async (cmd: Record<string, unknown>) => (await serverError(db.command({ find: 'items', ...cmd }))).code;
    expect(await bad({ returnKey: 1 })).toBe(14);
    expect(await bad({ showRecordId: 'yes' })).toBe(14);
    expect(await bad({ min: 3, hint: { _id: 1 } })).toBe(14);
  });
});
