import { type Collection, Decimal128, type Document, Double, Int32, Long, MaxKey, MinKey } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/mongo.ts';

interface Probe {
  _id: number;
  v?: unknown;
}

/** A document for update arithmetic (the driver's types allow `$inc` only on numeric fields). */
interface ArithDoc extends Document {
  _id: number;
}

/** The sorted ids a filter finds (through find, and the same count through countDocuments). */
async function ids(coll: Collection<Probe>, filter: Record<string, unknown>): Promise<number[]> {
  const found = (await coll.find(filter as never).toArray()).map((d) => d._id).sort((a, b) => a - b);
  expect(await coll.countDocuments(filter as never)).toBe(found.length);
  return found;
}

// Each expectation is what MongoDB 7.0 answers for the same documents and filter.
describe('filters compare numbers and types like MongoDB', () => {
  const { db } = useTestDatabase('numbers');
  let coll: Collection<Probe>;
  const big = Long.fromString('9007199254740993'); // 2^53 + 1: not a double

  beforeAll(async () => {
    coll = db.collection<Probe>('c');
    await coll.insertMany([
      { _id: 1, v: new Int32(1) },
      { _id: 2, v: new Double(1.5) },
      { _id: 3, v: Long.fromNumber(2) },
      { _id: 4, v: Decimal128.fromString('1') },
      { _id: 5, v: Decimal128.fromString('2.5') },
      { _id: 6, v: Long.fromString('9007199254740992') },
      { _id: 7, v: big },
      { _id: 8, v: '3' },
      { _id: 9, v: null },
      { _id: 10 },
      { _id: 11, v: new MinKey() },
      { _id: 12, v: new MaxKey() },
      { _id: 13, v: [Decimal128.fromString('0.5'), 'x'] },
      { _id: 14, v: Number.NaN },
    ]);
  });

  it('finds Decimal128("1") equal to 1 of every numeric type, and 1 equal to Decimal128("1")', async () => {
    expect(await ids(coll, { v: Decimal128.fromString('1') })).toEqual([1, 4]);
    expect(await ids(coll, { v: 1 })).toEqual([1, 4]);
    expect(await ids(coll, { v: { $in: [Long.fromNumber(1), 'nothing'] } })).toEqual([1, 4]);
    expect(await ids(coll, { v: { $ne: Decimal128.fromString('1') } })).toEqual([
      2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    ]);
  });

  it('compares $gt/$lte with a Decimal128 against numbers of every type by value, and only numbers', async () => {
    expect(await ids(coll, { v: { $gt: Decimal128.fromString('1.5') } })).toEqual([3, 5, 6, 7]);
    expect(await ids(coll, { v: { $lte: Decimal128.fromString('1.5') } })).toEqual([1, 2, 4, 13]);
    expect(await ids(coll, { v: { $gte: 1.5, $lt: new Int32(3) } })).toEqual([2, 3, 5]);
  });

  it('compares Int64 beyond 2^53 exactly', async () => {
    expect(await ids(coll, { v: { $gt: Long.fromString('9007199254740992') } })).toEqual([7]);
    expect(await ids(coll, { v: { $gte: Long.fromString('9007199254740992') } })).toEqual([6, 7]);
    expect(await ids(coll, { v: big })).toEqual([7]);
    expect(await ids(coll, { v: Long.fromString('9007199254740992') })).toEqual([6]);
  });

  it('brackets comparisons by type, with MinKey below and MaxKey above everything', async () => {
    expect(await ids(coll, { v: { $gt: new MinKey() } })).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14]);
    expect(await ids(coll, { v: { $lt: new MaxKey() } })).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14]);
    expect(await ids(coll, { v: { $lt: 'a' } })).toEqual([8]);
    expect(await ids(coll, { v: { $gte: null } })).toEqual([9, 10]);
    expect(await ids(coll, { v: { $eq: new MinKey() } })).toEqual([11]);
    expect(await ids(coll, { v: Number.NaN })).toEqual([14]);
    expect(await ids(coll, { v: { $lt: 100 } })).toEqual([1, 2, 3, 4, 5, 13]);
  });

  it('matches $type "decimal" only for Decimal128, and "number" for every numeric type', async () => {
    expect(await ids(coll, { v: { $type: 'decimal' } })).toEqual([4, 5, 13]);
    expect(await ids(coll, { v: { $type: 19 } })).toEqual([4, 5, 13]);
    // Int64 within ±2^53 is decoded to a JS number (README: Numbers), so only the big one is 'long' here.
    expect(await ids(coll, { v: { $type: 'long' } })).toEqual([7]);
    expect(await ids(coll, { v: { $type: 'number' } })).toEqual([1, 2, 3, 4, 5, 6, 7, 13, 14]);
    expect(await ids(coll, { v: { $type: ['minKey', 'maxKey'] } })).toEqual([11, 12]);
  });

  it('compares Decimal128 by exact value: Decimal128("9.99") is not the double 9.99, and digits past 15 count', async () => {
    const prices = db.collection<Probe>('prices');
    await prices.insertMany([
      { _id: 1, v: 9.99 },
      { _id: 2, v: Decimal128.fromString('9.99') },
      { _id: 3, v: Decimal128.fromString('9.990000000000000000000000001') },
      { _id: 4, v: Decimal128.fromString('10.0') },
    ]);
    expect(await ids(prices, { v: 9.99 })).toEqual([1]);
    expect(await ids(prices, { v: Decimal128.fromString('9.990') })).toEqual([2]);
    expect(await ids(prices, { v: { $gt: Decimal128.fromString('9.99') } })).toEqual([1, 3, 4]);
    expect(await ids(prices, { v: 10 })).toEqual([4]);
    // A unique index keeps them apart too, and a Decimal128 key finds the equal integer.
    await prices.createIndex({ v: 1 }, { unique: true });
    await expect(prices.insertOne({ _id: 5, v: Decimal128.fromString('10') })).rejects.toMatchObject({ code: 11000 });
    expect(await ids(prices, { v: { $in: [Decimal128.fromString('1E+1'), 9.99] } })).toEqual([1, 4]);
  });

  it('updates and deletes by the same comparison', async () => {
    const scratch = db.collection<Probe>('scratch');
    await scratch.insertMany([
      { _id: 1, v: 5.5 },
      { _id: 2, v: Decimal128.fromString('12') },
      { _id: 3, v: 20 },
    ]);
    const updated = await scratch.updateMany({ v: { $gt: Decimal128.fromString('10') } }, { $set: { big: true } });
    expect(updated.modifiedCount).toBe(2);
    const deleted = await scratch.deleteMany({ v: { $lt: Decimal128.fromString('10') } });
    expect(deleted.deletedCount).toBe(1);
    expect((await scratch.find({}).toArray()).map((d) => d._id)).toEqual([2, 3]);
  });
});

describe('update arithmetic on Int64 and Decimal128 like MongoDB', () => {
  const { db } = useTestDatabase('arith');

  it('increments an Int64 beyond 2^53 exactly, and refuses an Int64 overflow', async () => {
    const coll = db.collection<ArithDoc>('inc');
    await coll.insertMany([
      { _id: 1, v: Long.fromString('9007199254740993') },
      { _id: 2, v: Long.MAX_VALUE },
    ]);
    await coll.updateOne({ _id: 1 }, { $inc: { v: 2 } });
    const doc = await db.collection<ArithDoc>('inc').findOne({ _id: 1 }, { promoteLongs: false });
    expect(doc?.v).toEqual(Long.fromString('9007199254740995'));
    await coll.updateOne({ _id: 1 }, { $inc: { v: Long.fromString('-9007199254740995') } });
    expect((await coll.findOne({ _id: 1 }))?.v).toBe(0);
    await expect(coll.updateOne({ _id: 2 }, { $inc: { v: 1 } })).rejects.toMatchObject({ code: 2 });
    expect((await coll.findOne({ _id: 2 }, { promoteLongs: false }))?.v).toEqual(Long.MAX_VALUE);
  });

  it('increments and multiplies Decimal128 in decimal, not in binary floating point', async () => {
    const coll = db.collection<ArithDoc>('dec');
    await coll.insertOne({ _id: 1, v: Decimal128.fromString('0.1') });
    await coll.updateOne({ _id: 1 }, { $inc: { v: Decimal128.fromString('0.2') } });
    expect(String((await coll.findOne({ _id: 1 }))?.v)).toBe('0.3');
    await coll.updateOne({ _id: 1 }, { $inc: { v: 1 } });
    expect(String((await coll.findOne({ _id: 1 }))?.v)).toBe('1.3');
    await coll.updateOne({ _id: 1 }, { $mul: { v: Decimal128.fromString('3') } });
    const doc = await coll.findOne({ _id: 1 });
    expect(doc?.v).toBeInstanceOf(Decimal128);
    expect(String(doc?.v)).toBe('3.9');
    await coll.updateOne({ _id: 1 }, { $inc: { w: Decimal128.fromString('2.50') } });
    expect(String((await coll.findOne({ _id: 1 }))?.w)).toBe('2.50');
  });

  it('sums Decimal128 in decimal and Int64 beyond 2^53 exactly in $group, and $match after a stage compares by value', async () => {
    const coll = db.collection<ArithDoc>('sum');
    await coll.insertMany([
      { _id: 1, d: Decimal128.fromString('0.1'), l: Long.fromString('9007199254740993') },
      { _id: 2, d: Decimal128.fromString('0.1'), l: 2 },
      { _id: 3, d: Decimal128.fromString('0.1'), l: 'not a number' },
    ]);
    const [sums] = await coll
      .aggregate([{ $group: { _id: null, d: { $sum: '$d' }, l: { $sum: '$l' }, n: { $sum: 1 } } }], {
        promoteLongs: false,
      })
      .toArray();
    expect(sums?.d).toBeInstanceOf(Decimal128);
    expect(String(sums?.d)).toBe('0.3');
    expect(sums?.l).toEqual(Long.fromString('9007199254740995'));
    expect(sums?.n).toBe(3);
    const matched = await coll
      .aggregate([
        { $addFields: { x: 1 } },
        { $match: { d: { $lt: 1 }, l: { $gt: Long.fromString('9007199254740992') } } },
      ])
      .toArray();
    expect(matched.map((d) => d._id)).toEqual([1]);
  });

  it('sorts a $sort stage in BSON order: numbers of every type by value, Int64 beyond 2^53 exactly', async () => {
    const coll = db.collection<ArithDoc>('sorted');
    await coll.insertMany([
      { _id: 1, v: Long.fromString('9007199254740993') },
      { _id: 2, v: Decimal128.fromString('2.5') },
      { _id: 3, v: Long.fromString('9007199254740992') },
      { _id: 4, v: 3 },
      { _id: 5, v: 'a' },
      { _id: 6, v: new MinKey() },
      { _id: 7, v: null },
    ]);
    const order = async (dir: 1 | -1): Promise<unknown[]> =>
      (await coll.aggregate([{ $addFields: { x: 1 } }, { $sort: { v: dir } }]).toArray()).map((d) => d._id);
    expect(await order(1)).toEqual([6, 7, 2, 4, 3, 1, 5]);
    expect(await order(-1)).toEqual([5, 1, 3, 4, 2, 7, 6]);
    await expect(coll.aggregate([{ $sort: { v: 2 } }]).toArray()).rejects.toMatchObject({ code: 15975 });
  });

  it('computes $add, $subtract and $multiply on Decimal128 in decimal and on Int64 beyond 2^53 exactly', async () => {
    const coll = db.collection<ArithDoc>('expressions');
    await coll.insertOne({
      _id: 1,
      d: Decimal128.fromString('0.1'),
      l: Long.fromString('9007199254740993'),
      at: new Date('2026-01-01T00:00:00Z'),
    });
    const [r] = await coll
      .aggregate(
        [
          {
            $project: {
              add: { $add: ['$d', Decimal128.fromString('0.2'), 1] },
              addLong: { $add: ['$l', 2] },
              sub: { $subtract: ['$d', Decimal128.fromString('0.3')] },
              subLong: { $subtract: ['$l', Long.fromString('9007199254740992')] },
              mul: { $multiply: ['$d', 3] },
              later: { $add: ['$at', 1000] },
              span: { $subtract: [{ $add: ['$at', 60000] }, '$at'] },
              none: { $add: ['$d', null] },
            },
          },
        ],
        { promoteLongs: false },
      )
      .toArray();
    expect(String(r?.add)).toBe('1.3');
    expect(r?.add).toBeInstanceOf(Decimal128);
    expect(r?.addLong).toEqual(Long.fromString('9007199254740995'));
    expect(String(r?.sub)).toBe('-0.2');
    expect(r?.subLong).toEqual(Long.fromNumber(1));
    expect(String(r?.mul)).toBe('0.3');
    expect(r?.later).toEqual(new Date('2026-01-01T00:00:01Z'));
    expect(Number(r?.span)).toBe(60000);
    expect(r?.none).toBeNull();
    await expect(coll.aggregate([{ $project: { x: { $add: ['$d', 'a'] } } }]).toArray()).rejects.toMatchObject({
      code: 14,
      message: '$add only supports numeric or date types, not string',
    });
  });

  it('takes $avg, $min and $max over every BSON number type by value, and $min/$max across types in BSON order', async () => {
    const coll = db.collection<ArithDoc>('accumulators');
    await coll.insertMany([
      { _id: 1, g: 'dec', v: Decimal128.fromString('0.1') },
      { _id: 2, g: 'dec', v: Decimal128.fromString('0.2') },
      { _id: 3, g: 'dec', v: 'ignored by $avg' },
      { _id: 4, g: 'mixed', v: Decimal128.fromString('2.5') },
      { _id: 5, g: 'mixed', v: 2 },
      { _id: 6, g: 'mixed', v: Long.fromString('9007199254740993') },
      { _id: 7, g: 'mixed', v: null },
      { _id: 8, g: 'types', v: 1 },
      { _id: 9, g: 'types', v: 'a' },
    ]);
    const groups = await coll
      .aggregate(
        [
          { $match: { g: { $in: ['dec', 'mixed', 'types'] } } },
          { $group: { _id: '$g', avg: { $avg: '$v' }, min: { $min: '$v' }, max: { $max: '$v' } } },
          { $sort: { _id: 1 } },
        ],
        { promoteLongs: false },
      )
      .toArray();
    const [dec, mixed, types] = groups;
    expect(String(dec?.avg)).toBe('0.15');
    expect(dec?.avg).toBeInstanceOf(Decimal128);
    expect(String(mixed?.min)).toBe('2');
    expect(mixed?.max).toEqual(Long.fromString('9007199254740993'));
    expect(types?.min).toBe(1);
    expect(types?.max).toBe('a');
  });

  it("answers $type with mongod's names: decimal, long, int, missing", async () => {
    const coll = db.collection<ArithDoc>('types');
    await coll.insertOne({ _id: 1, d: Decimal128.fromString('1'), l: Long.fromString('9007199254740993') });
    const [r] = await coll
      .aggregate([
        { $project: { d: { $type: '$d' }, l: { $type: '$l' }, id: { $type: '$_id' }, gone: { $type: '$nothing' } } },
      ])
      .toArray();
    expect(r).toEqual({ _id: 1, d: 'decimal', l: 'long', id: 'int', gone: 'missing' });
  });

  it('compares in $expr and expression operators by BSON order: Decimal128 by value, missing below null', async () => {
    const coll = db.collection<ArithDoc>('exprcompare');
    await coll.insertMany([
      { _id: 1, v: Decimal128.fromString('1.5') },
      { _id: 2, v: 2 },
      { _id: 3, v: Long.fromString('9007199254740993') },
      { _id: 4, v: null },
      { _id: 5 },
      { _id: 6, v: 'a' },
    ]);
    const found = async (expr: unknown): Promise<number[]> =>
      (await coll.find({ $expr: expr } as never).toArray()).map((d) => d._id as number).sort((a, b) => a - b);
    expect(await found({ $gt: ['$v', Decimal128.fromString('1.4')] })).toEqual([1, 2, 3, 6]);
    expect(await found({ $lt: ['$v', 2] })).toEqual([1, 4, 5]);
    expect(await found({ $eq: ['$v', Long.fromString('9007199254740993')] })).toEqual([3]);
    expect(await found({ $eq: ['$v', null] })).toEqual([4]);
    expect(await found({ $lt: ['$v', null] })).toEqual([5]);
    const [r] = await coll
      .aggregate([{ $match: { _id: 1 } }, { $project: { c: { $cmp: ['$v', 1.5] }, d: { $cmp: ['$v', 2] } } }])
      .toArray();
    expect(r).toEqual({ _id: 1, c: 0, d: -1 });
  });

  it('takes a non-array operand as one operand and checks operands left to right, as mongod', async () => {
    const coll = db.collection<ArithDoc>('operands');
    await coll.insertOne({ _id: 1, arr: [1, 2], s: 'x', at: new Date(10) });
    const one = async (project: Record<string, unknown>): Promise<Record<string, unknown> | undefined> =>
      (await coll.aggregate([{ $project: { _id: 0, ...project } }]).toArray())[0];
    expect(await one({ v: { $add: 5 } })).toEqual({ v: 5 });
    expect(await one({ v: { $add: [null, '$s'] } })).toEqual({ v: null });
    expect(await one({ v: { $add: ['$at', -2.5] } })).toEqual({ v: new Date(7) });
    expect(await one({ v: { $type: { $subtract: ['$at', new Date(4)] } } })).toEqual({ v: 'long' });
    await expect(one({ v: { $add: '$arr' } })).rejects.toMatchObject({
      code: 14,
      message: '$add only supports numeric or date types, not array',
    });
    await expect(one({ v: { $add: ['$s', null] } })).rejects.toMatchObject({ code: 14 });
    await expect(one({ v: { $eq: '$arr' } })).rejects.toMatchObject({ code: 16020 });
    await expect(one({ v: { $type: [1, 2] } })).rejects.toMatchObject({ code: 16020 });
  });
});
