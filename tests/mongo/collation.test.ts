import { type Collection, type Document, MongoServerError } from 'mongodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { isEmbeddedMongo, useTestDatabase } from '../support/mongo.ts';

interface Word extends Document {
  _id: number;
  w: string | number;
  tags?: string[];
}

const EN = (strength: number) => ({ locale: 'en_US', strength });

/** The server error an operation fails with (fails the test if it succeeds). */
async function errorOf(op: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await op;
  } catch (err) {
    if (err instanceof MongoServerError) return { code: err.code as number, message: err.message };
    throw err;
  }
  throw new Error('expected the operation to fail');
}

const WORDS: Word[] = [
  { _id: 1, w: 'apple' },
  { _id: 2, w: 'Apple' },
  { _id: 3, w: 'ápple' },
  { _id: 4, w: 'banana' },
  { _id: 5, w: 'Banana' },
  { _id: 6, w: 11 },
];

describe('collation', () => {
  const { client, db } = useTestDatabase('collation');
  let words: Collection<Word>;

  beforeEach(async () => {
    words = db.collection<Word>(`w${Math.random().toString(36).slice(2, 8)}`);
    await words.insertMany(WORDS);
  });

  const ids = (docs: Word[]) => docs.map((d) => d._id);

  it('equality follows the strength: 1 ignores case and accents, 2 case only, 3 neither', async () => {
    expect(ids(await words.find({ w: 'APPLE' }, { collation: EN(1) }).toArray())).toEqual([1, 2, 3]);
    expect(ids(await words.find({ w: 'APPLE' }, { collation: EN(2) }).toArray())).toEqual([1, 2]);
    expect(ids(await words.find({ w: 'Apple' }, { collation: EN(3) }).toArray())).toEqual([2]);
    expect(ids(await words.find({ w: 'APPLE' }).toArray())).toEqual([]);
    // $in, $ne and $nin compare the same way; numbers are untouched.
    expect(ids(await words.find({ w: { $in: ['BANANA', 11] } }, { collation: EN(2) }).toArray())).toEqual([4, 5, 6]);
    expect(ids(await words.find({ w: { $ne: 'APPLE' } }, { collation: EN(2) }).toArray())).toEqual([3, 4, 5, 6]);
    expect(ids(await words.find({ w: { $nin: ['apple', 'banana'] } }, { collation: EN(1) }).toArray())).toEqual([6]);
  });

  it('ranges compare strings by the collation, not by code unit', async () => {
    // Binary: 'B' < 'a' < 'b', so only 'banana' is in [a, c) … plus 'apple'; 'Apple'/'Banana' are below 'a'.
    expect(ids(await words.find({ w: { $gte: 'a', $lt: 'c' } }).toArray())).toEqual([1, 4]);
    expect(ids(await words.find({ w: { $gte: 'a', $lt: 'c' } }, { collation: EN(3) }).toArray())).toEqual([
      1, 2, 3, 4, 5,
    ]);
    expect(ids(await words.find({ w: { $gt: 'APPLE' } }, { collation: EN(1) }).toArray())).toEqual([4, 5]);
  });

  it('sorts with the collation (find, aggregate $sort, findOneAndUpdate)', async () => {
    const found = await words
      .find({ w: { $type: 'string' } }, { collation: EN(3) })
      .sort({ w: 1, _id: 1 })
      .toArray();
    expect(found.map((d) => d.w)).toEqual(['apple', 'Apple', 'ápple', 'banana', 'Banana']);
    const binary = await words
      .find({ w: { $type: 'string' } })
      .sort({ w: 1 })
      .toArray();
    expect(binary.map((d) => d.w)).toEqual(['Apple', 'Banana', 'apple', 'banana', 'ápple']);
    const upperFirst = await words
      .aggregate([{ $match: { w: { $type: 'string' } } }, { $sort: { w: 1 } }], {
        collation: { locale: 'en_US', caseFirst: 'upper' },
      })
      .toArray();
    expect(upperFirst.map((d) => d.w)).toEqual(['Apple', 'apple', 'ápple', 'Banana', 'banana']);
    const first = await words.findOneAndUpdate(
      { w: { $type: 'string' } },
      { $set: { picked: true } },
      { sort: { w: -1 }, collation: EN(3) },
    );
    expect(first?.w).toBe('Banana');
  });

  it('numericOrdering compares digit runs as numbers', async () => {
    const files = db.collection<{ _id: number; f: string }>(`f${Math.random().toString(36).slice(2, 8)}`);
    await files.insertMany([
      { _id: 1, f: 'file10' },
      { _id: 2, f: 'file9' },
      { _id: 3, f: 'file100' },
      { _id: 4, f: 'file09' },
    ]);
    const numeric = { locale: 'en', numericOrdering: true };
    const sorted = await files.find({}, { collation: numeric }).sort({ f: 1, _id: 1 }).toArray();
    expect(sorted.map((d) => d._id)).toEqual([2, 4, 1, 3]);
    expect((await files.find({ f: 'file9' }, { collation: numeric }).toArray()).map((d) => d._id)).toEqual([2, 4]);
    expect(await files.countDocuments({ f: { $gt: 'file9' } }, { collation: numeric })).toBe(2);
    expect(await files.countDocuments({ f: { $gt: 'file9' } })).toBe(0);
  });

  it('distinct and count use the collation', async () => {
    // In BSON order (numbers before strings), the first seen of each group of equal values.
    expect(await words.distinct('w', {}, { collation: EN(2) })).toEqual([11, 'apple', 'ápple', 'banana']);
    expect(await words.distinct('w', {}, { collation: EN(1) })).toEqual([11, 'apple', 'banana']);
    expect(await words.distinct('w')).toEqual([11, 'Apple', 'Banana', 'apple', 'banana', 'ápple']);
    expect(await words.countDocuments({ w: 'BANANA' }, { collation: EN(2) })).toBe(2);
    const raw = await db.command({ count: words.collectionName, query: { w: 'APPLE' }, collation: EN(1) });
    expect(raw.n).toBe(3);
  });

  it('update, delete and findAndModify select with the collation, per statement in bulk writes', async () => {
    const updated = await words.updateMany({ w: 'APPLE' }, { $set: { fruit: 1 } }, { collation: EN(2) });
    expect(updated.modifiedCount).toBe(2);
    const bulk = await words.bulkWrite([
      { deleteOne: { filter: { w: 'BANANA' }, collation: EN(2) } },
      { deleteMany: { filter: { w: 'BANANA' } } },
      { updateOne: { filter: { w: 'APPLE' }, update: { $set: { x: 1 } }, collation: EN(1) } },
    ]);
    expect(bulk.deletedCount).toBe(1);
    expect(bulk.modifiedCount).toBe(1);
    const removed = await words.findOneAndDelete({ w: 'ÁPPLE' }, { collation: EN(2) });
    expect(removed?._id).toBe(3);
    const deleted = await words.deleteMany({ w: 'apple' }, { collation: EN(1) });
    expect(deleted.deletedCount).toBe(2);
    expect(ids(await words.find().sort({ _id: 1 }).toArray())).toEqual([5, 6]);
  });

  it('a unique index with a strength-2 collation refuses a case-only duplicate', async () => {
    const users = db.collection<{ _id: number; name: string }>(`u${Math.random().toString(36).slice(2, 8)}`);
    await users.createIndex({ name: 1 }, { unique: true, collation: EN(2) });
    await users.insertOne({ _id: 1, name: 'alice' });
    const dup = await errorOf(users.insertOne({ _id: 2, name: 'ALICE' }));
    expect(dup.code).toBe(11000);
    await users.insertOne({ _id: 3, name: 'alicé' }); // accents differ at strength 2
    const spec = (await users.listIndexes().toArray()).find((i) => i.name === 'name_1');
    expect(spec?.collation).toMatchObject({ locale: 'en_US', strength: 2, caseLevel: false });
    // A query with the index's collation can use it, and finds both spellings.
    expect(await users.countDocuments({ name: 'ALICE' }, { collation: EN(2) })).toBe(1);
    // The simple collation must not take string bounds from it: binary equality only.
    expect(await users.countDocuments({ name: 'ALICE' })).toBe(0);
    // Building such an index over existing case-only duplicates fails.
    const other = db.collection(`v${Math.random().toString(36).slice(2, 8)}`);
    await other.insertMany([{ n: 'x' }, { n: 'X' }]);
    expect((await errorOf(other.createIndex({ n: 1 }, { unique: true, collation: EN(2) }))).code).toBe(11000);
  });

  it("a collated index's partial filter matches under the index's collation", async () => {
    const accounts = db.collection(`p${Math.random().toString(36).slice(2, 8)}`);
    await accounts.createIndex(
      { email: 1 },
      { unique: true, partialFilterExpression: { kind: 'USER' }, collation: EN(2) },
    );
    await accounts.insertOne({ kind: 'user', email: 'a@x' });
    expect((await errorOf(accounts.insertOne({ kind: 'User', email: 'A@X' }))).code).toBe(11000);
    await accounts.insertOne({ kind: 'admin', email: 'a@x' }); // outside the partial filter
  });

  it('explain of a find reports the collated result', async () => {
    const plan = await words.find({ w: 'APPLE' }, { collation: EN(2) }).explain('executionStats');
    expect(plan.executionStats?.nReturned).toBe(2);
  });

  it('two transactions inserting case-only duplicates under a strength-2 unique index conflict', async () => {
    const users = db.collection<{ _id: number; name: string }>(`t${Math.random().toString(36).slice(2, 8)}`);
    await users.createIndex({ name: 1 }, { unique: true, collation: EN(2) });
    const s1 = client.startSession();
    const s2 = client.startSession();
    try {
      s1.startTransaction();
      s2.startTransaction();
      await users.insertOne({ _id: 1, name: 'bob' }, { session: s1 });
      const err = await errorOf(users.insertOne({ _id: 2, name: 'BOB' }, { session: s2 }));
      expect(err.code).toBe(112);
      await s2.abortTransaction();
      await s1.commitTransaction();
      expect(await users.countDocuments()).toBe(1);
    } finally {
      await s1.endSession();
      await s2.endSession();
    }
  });

  it('a collated query gets correct results on a field with a simple index', async () => {
    await words.createIndex({ w: 1 });
    expect(ids(await words.find({ w: 'APPLE' }, { collation: EN(2) }).toArray())).toEqual([1, 2]);
    expect(ids(await words.find({ w: { $in: ['BANANA'] } }, { collation: EN(1) }).toArray())).toEqual([4, 5]);
    const sorted = await words
      .find({}, { collation: EN(3) })
      .sort({ w: 1, _id: 1 })
      .limit(3)
      .toArray();
    expect(sorted.map((d) => d.w)).toEqual([11, 'apple', 'Apple']);
  });

  it('rejects invalid collations with mongod errors', async () => {
    const find = (collation: Document) => words.find({}, { collation } as never).toArray();
    expect(await errorOf(find({ locale: 'xx' }))).toEqual({
      code: 2,
      message: `Field 'locale' is invalid in: { locale: "xx" }`,
    });
    expect(await errorOf(find({ strength: 2 }))).toEqual({
      code: 40414,
      message: "BSON field 'locale' is missing but a required field",
    });
    expect((await errorOf(find({ locale: 'en', colour: 'red' }))).code).toBe(40415);
    expect((await errorOf(find({ locale: 'en', strength: 6 }))).code).toBe(2);
    expect((await errorOf(find({ locale: 'en', strength: 0 }))).code).toBe(2);
    expect((await errorOf(find({ locale: 'en', caseFirst: 'sideways' }))).code).toBe(2);
    expect((await errorOf(find({ locale: 'simple', strength: 2 }))).code).toBe(2);
    expect((await errorOf(words.updateOne({}, { $set: { a: 1 } }, { collation: { locale: 'qq' } }))).code).toBe(2);
    expect((await errorOf(words.createIndex({ w: 1 }, { collation: { locale: 'en', strength: 9 } }))).code).toBe(2);
  });

  it.runIf(isEmbeddedMongo())('refuses with 115 what it does not implement, before writing anything', async () => {
    const refused = async (op: Promise<unknown>) => (await errorOf(op)).code;
    expect(await refused(words.find({}, { collation: { locale: 'en', alternate: 'shifted' } }).toArray())).toBe(115);
    expect(await refused(words.find({}, { collation: { locale: 'en', strength: 4 } }).toArray())).toBe(115);
    expect(await refused(words.find({}, { collation: { locale: 'en', backwards: true } }).toArray())).toBe(115);
    expect(await refused(db.createCollection('withDefault', { collation: EN(2) }))).toBe(115);
    expect(await refused(words.find({ $expr: { $eq: ['$w', 'APPLE'] } }, { collation: EN(2) }).toArray())).toBe(115);
    expect(
      await refused(words.aggregate([{ $group: { _id: '$w', n: { $sum: 1 } } }], { collation: EN(2) }).toArray()),
    ).toBe(115);
    expect(await refused(words.updateMany({}, { $addToSet: { tags: 'A' } }, { collation: EN(2) }))).toBe(115);
    expect(
      await refused(
        words.updateMany({}, { $push: { tags: { $each: ['b', 'A'], $sort: 1 } } } as never, { collation: EN(2) }),
      ),
    ).toBe(115);
    expect(await refused(words.updateOne({ tags: 'a' }, { $set: { 'tags.$': 'b' } }, { collation: EN(2) }))).toBe(115);
    expect(
      await refused(
        words.findOneAndUpdate({ w: 'apple' }, { $set: { z: 1 } }, { collation: EN(2), projection: { 'w.$': 1 } }),
      ),
    ).toBe(115);
    expect(await words.countDocuments({ z: 1 })).toBe(0);
    expect(await words.countDocuments({ tags: { $exists: true } })).toBe(0);
  });

  it.runIf(isEmbeddedMongo())(
    'refuses with 115 a collation on a view, with min/max, returnKey, a tailable cursor or a change stream',
    async () => {
      const refused = async (op: Promise<unknown>) => (await errorOf(op)).code;
      await db.createCollection('wordsView', { viewOn: words.collectionName, pipeline: [] });
      const view = db.collection('wordsView');
      expect(await refused(view.find({ w: 'APPLE' }, { collation: EN(2) }).toArray())).toBe(115);
      expect(await refused(view.countDocuments({ w: 'APPLE' }, { collation: EN(2) }))).toBe(115);
      expect(await refused(view.distinct('w', {}, { collation: EN(2) }))).toBe(115);
      expect(await refused(view.aggregate([{ $match: { w: 'APPLE' } }], { collation: EN(2) }).toArray())).toBe(115);
      await words.createIndex({ w: 1 });
      expect(await refused(words.find({}, { collation: EN(2), hint: { w: 1 }, min: { w: 'a' } }).toArray())).toBe(115);
      expect(await refused(words.find({}, { collation: EN(2), hint: { w: 1 }, returnKey: true }).toArray())).toBe(115);
      await db.createCollection('wordsCapped', { capped: true, size: 4096 });
      expect(
        await refused(
          db
            .collection('wordsCapped')
            .find({}, { collation: EN(2), tailable: true })
            .toArray(),
        ),
      ).toBe(115);
      const stream = words.watch([], { collation: EN(2) });
      expect(await refused(stream.tryNext())).toBe(115);
      await stream.close();
    },
  );
});
