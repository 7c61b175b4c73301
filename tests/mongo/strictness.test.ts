import {
  Binary,
  type Collection,
  Decimal128,
  type Document,
  Long,
  MaxKey,
  MinKey,
  MongoClient,
  MongoServerError,
  MongoWriteConcernError,
  ObjectId,
  Timestamp,
} from 'mongodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { connectTestClient, testMongoUri, uniqueDbName, useTestDatabase } from '../support/mongo.ts';

/** A probe document: numeric (or sub-document) ids, any fields. */
interface Probe extends Document {
  _id: number;
}

/** The server error code an operation fails with (fails the test if it succeeds). */
async function codeOf(op: Promise<unknown>): Promise<number | undefined> {
  try {
    await op;
  } catch (err) {
    if (err instanceof MongoServerError) return err.code as number;
    throw err;
  }
  expect.fail('the operation succeeded, MongoDB refuses it');
}

// Each case is something MongoDB 7.0 refuses; accepting it here would let a bug pass the tests.
describe('refused like mongod (7.0 and 8.0)', () => {
  const { client, db } = useTestDatabase('strict');
  let coll: Collection<Probe>;

  beforeEach(async () => {
    coll = db.collection(`c_${Math.random().toString(36).slice(2, 8)}`);
    await coll.insertMany([
      { _id: 1, n: 5, arr: [1, 5, 9], s: 'x' },
      { _id: 2, n: 6, arr: [2], s: 'y' },
    ]);
  });

  it('refuses a snapshot read concern on writes and catalog commands, and accepts it on find', async () => {
    const session = client.startSession({ snapshot: true });
    try {
      expect(await coll.find({}, { session }).toArray()).toHaveLength(2);
      expect(await codeOf(coll.insertOne({ _id: 3 }, { session }))).toBe(72);
      expect(await codeOf(coll.updateOne({ _id: 1 }, { $set: { n: 1 } }, { session }))).toBe(72);
      expect(await codeOf(coll.deleteOne({ _id: 1 }, { session }))).toBe(72);
      expect(await codeOf(coll.findOneAndUpdate({ _id: 1 }, { $set: { n: 1 } }, { session }))).toBe(72);
      expect(await codeOf(db.listCollections({}, { session }).toArray())).toBe(72);
      expect(await codeOf(coll.listIndexes({ session }).toArray())).toBe(72);
    } finally {
      await session.endSession();
    }
    expect(await coll.findOne({ _id: 1 })).toMatchObject({ n: 5 });
  });

  it('reads a snapshot session at its first read time, even after later writes', async () => {
    const session = client.startSession({ snapshot: true });
    try {
      expect(await coll.find({}, { session }).toArray()).toHaveLength(2);
      await coll.insertOne({ _id: 3 });
      await coll.updateOne({ _id: 1 }, { $set: { n: 50 } });
      const again = await coll.find({}, { session, sort: { _id: 1 } }).toArray();
      expect(again.map((d) => d._id)).toEqual([1, 2]);
      expect(again[0]?.n).toBe(5);
    } finally {
      await session.endSession();
    }
  });

  it('sort in update and replace statements: refused by 7.0 (40415), applied by 8.0 to the first match in that order', async () => {
    // The suite's server may present either release (EMBEDDED_MONGO_VERSION); wire version 25 is 8.0.
    const { maxWireVersion } = await client.db('admin').command({ hello: 1 });
    if (maxWireVersion < 25) {
      expect(await codeOf(coll.updateOne({}, { $inc: { n: 1 } }, { sort: { _id: -1 } }))).toBe(40415);
      expect(await codeOf(coll.replaceOne({}, { n: 0 }, { sort: { _id: -1 } }))).toBe(40415);
      expect(await coll.find({ n: { $in: [0, 7] } }).toArray()).toEqual([]);
      return;
    }
    await coll.updateOne({}, { $inc: { n: 1 } }, { sort: { _id: -1 } });
    expect(await coll.find({ n: 7 }).toArray()).toMatchObject([{ _id: 2 }]);
    await coll.replaceOne({}, { n: 0 }, { sort: { n: 1 } });
    expect(await coll.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, n: 0 },
      { _id: 2, n: 7, arr: [2], s: 'y' },
    ]);
    // As in mongod 8.0: no sort with multi (9 FailedToParse), before anything is written.
    const multi = await client
      .db(db.databaseName)
      .command({
        update: coll.collectionName,
        updates: [{ q: {}, u: { $set: { s: 'z' } }, multi: true, sort: { _id: 1 } }],
      })
      .catch((e: unknown) => e);
    expect((multi as MongoServerError).code).toBe(9);
    expect(await coll.countDocuments({ s: 'z' })).toBe(0);
  });

  it('refuses a $$variable nothing defines (17276) before reading, and accepts let, bound and system ones', async () => {
    const empty = db.collection<Probe>('no_such_collection');
    expect(await codeOf(empty.find({ $expr: { $eq: ['$n', '$$missing'] } }).toArray())).toBe(17276);
    expect(await codeOf(coll.deleteOne({ $expr: { $eq: ['$_id', '$$missing'] } }))).toBe(17276);
    expect(await coll.countDocuments()).toBe(2);
    const found = await coll
      .find(
        {
          $expr: {
            $and: [
              { $eq: ['$n', '$$five'] },
              { $gt: [{ $size: { $filter: { input: '$arr', as: 'x', cond: { $gt: ['$$x', 4] } } } }, 0] },
              { $eq: ['$$ROOT._id', 1] },
            ],
          },
        },
        { let: { five: 5 } },
      )
      .toArray();
    expect(found.map((d) => d._id)).toEqual([1]);
  });

  it('takes an empty update operand ({ $set: {} }) as a no-op, as mongod has since 5.0', async () => {
    const result = await coll.updateOne({ _id: 1 }, { $set: {} });
    expect(result).toMatchObject({ matchedCount: 1, modifiedCount: 0 });
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, n: 5, arr: [1, 5, 9], s: 'x' });
  });

  it('refuses $-prefixed fields inside _id', async () => {
    expect(await codeOf(coll.insertOne({ _id: { $a: 1 } } as never))).toBe(52);
    expect(await codeOf(coll.insertOne({ _id: { x: { $b: 1 } } } as never))).toBe(52);
  });

  it('answers w greater than the one node with a write concern error after applying the write', async () => {
    const err = await coll.insertOne({ _id: 10 }, { writeConcern: { w: 10 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoWriteConcernError);
    expect((err as MongoWriteConcernError).code).toBe(100);
    expect(await coll.findOne({ _id: 10 })).toEqual({ _id: 10 });
    const session = client.startSession();
    try {
      session.startTransaction({ writeConcern: { w: 10 } });
      await coll.insertOne({ _id: 11 }, { session });
      const commit = await session.commitTransaction().catch((e: unknown) => e);
      expect(commit).toBeInstanceOf(MongoWriteConcernError);
    } finally {
      await session.endSession();
    }
  });

  it('refuses $push/$addToSet/$pop on a non-array and creating a field inside a scalar', async () => {
    expect(await codeOf(coll.updateOne({ _id: 1 }, { $push: { n: 1 } } as Document))).toBe(2);
    expect(await codeOf(coll.updateOne({ _id: 1 }, { $addToSet: { s: 1 } }))).toBe(2);
    expect(await codeOf(coll.updateOne({ _id: 1 }, { $pop: { n: 1 } }))).toBe(14);
    expect(await codeOf(coll.updateOne({ _id: 1 }, { $set: { 'n.b': 1 } }))).toBe(28);
    expect(await codeOf(coll.updateOne({ _id: 1 }, { $inc: { 's.deep.x': 1 } }))).toBe(28);
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, n: 5, arr: [1, 5, 9], s: 'x' });
    // Still fine: creating missing paths and pushing to arrays.
    await coll.updateOne({ _id: 1 }, { $set: { 'm.b': 1 }, $push: { arr: 10 } } as Document);
    expect(await coll.findOne({ _id: 1 })).toMatchObject({ m: { b: 1 }, arr: [1, 5, 9, 10] });
  });

  it('does not build a unique index while an open transaction holds a duplicate', async () => {
    const session = client.startSession();
    try {
      session.startTransaction();
      await coll.insertOne({ _id: 3, s: 'x' }, { session });
      const build = coll.createIndex({ s: 1 }, { unique: true });
      await new Promise((r) => setTimeout(r, 50));
      await session.commitTransaction();
      expect(await codeOf(build)).toBe(11000);
    } finally {
      await session.endSession();
    }
    expect((await coll.listIndexes().toArray()).map((i) => i.name)).toEqual(['_id_']);
  });

  it('honours $natural sort and hint, and refuses a hint naming no index', async () => {
    await coll.insertOne({ _id: 0, n: 1 });
    const natural = await coll.find({}).sort({ $natural: -1 }).toArray();
    expect(natural.map((d) => d._id)).toEqual([0, 2, 1]);
    const hinted = await coll.find({}).hint({ $natural: -1 }).toArray();
    expect(hinted.map((d) => d._id)).toEqual([0, 2, 1]);
    expect(await codeOf(coll.find({}).hint('no_such_index').toArray())).toBe(2);
    expect(await codeOf(coll.find({}).hint({ nope: 1 }).toArray())).toBe(2);
  });

  it('fails a positional projection without a condition on the array, and applies it with one', async () => {
    expect(await codeOf(coll.find({ _id: 1 }, { projection: { 'arr.$': 1 } }).toArray())).toBe(51246);
    const doc = await coll.findOne({ arr: { $gt: 4 } }, { projection: { 'arr.$': 1 } });
    expect(doc).toEqual({ _id: 1, arr: [5] });
  });

  it('keeps a collection created inside a transaction invisible to others until the commit', async () => {
    const name = `new_${Math.random().toString(36).slice(2, 8)}`;
    const listed = async (): Promise<string[]> =>
      (await db.listCollections({ name }, { nameOnly: true }).toArray()).map((c) => c.name);
    const session = client.startSession();
    try {
      session.startTransaction();
      await db.collection<Probe>(name).insertOne({ _id: 1 }, { session });
      expect(await listed()).toEqual([]);
      await session.abortTransaction();
      expect(await listed()).toEqual([]);
      session.startTransaction();
      await db.createCollection(name, { session });
      await db.collection(name).createIndex({ a: 1 }, { session });
      expect(await listed()).toEqual([]);
      await session.commitTransaction();
      expect(await listed()).toEqual([name]);
      expect((await db.collection(name).listIndexes().toArray()).map((i) => i.name)).toEqual(['_id_', 'a_1']);
    } finally {
      await session.endSession();
    }
  });
});

describe('causal consistency', () => {
  it('gossips operationTime and $clusterTime so a causally consistent session sends afterClusterTime', async () => {
    const client = new MongoClient(testMongoUri(), { monitorCommands: true, serverSelectionTimeoutMS: 5_000 });
    const sent: Record<string, unknown>[] = [];
    client.on('commandStarted', (e) => sent.push(e.command));
    const db = client.db(uniqueDbName('causal'));
    const session = client.startSession({ causalConsistency: true });
    try {
      await db.collection<Probe>('c').insertOne({ _id: 1 }, { session });
      const afterInsert = session.operationTime;
      expect(afterInsert).toBeDefined();
      expect(session.clusterTime?.clusterTime).toBeDefined();
      await db.collection<Probe>('c').insertOne({ _id: 2 });
      const found = await db.collection('c').find({}, { session }).toArray();
      expect(found).toHaveLength(2);
      const find = sent.find((c) => 'find' in c) as { readConcern?: { afterClusterTime?: unknown } };
      expect(find.readConcern?.afterClusterTime).toEqual(afterInsert);
      expect(session.operationTime?.greaterThan(afterInsert as never)).toBe(true);
    } finally {
      await session.endSession();
      await db.dropDatabase();
      await client.close();
    }
  });
});

describe('BSON order', () => {
  it('sorts mixed types in MongoDB order, numbers of every type together, and Int64 beyond 2^53 exactly', async () => {
    const client = await connectTestClient();
    const db = client.db(uniqueDbName('order'));
    try {
      const coll = db.collection<{ _id: number; v?: unknown }>('c');
      const big = Long.fromString('9007199254740993');
      await coll.insertMany([
        { _id: 1, v: new MaxKey() },
        { _id: 2, v: /re/ },
        { _id: 3, v: new Timestamp({ t: 1, i: 1 }) },
        { _id: 4, v: new Date(0) },
        { _id: 5, v: true },
        { _id: 6, v: new ObjectId('000000000000000000000001') },
        { _id: 7, v: new Binary(Buffer.from([1])) },
        { _id: 8, v: { a: 1 } },
        { _id: 9, v: 'a' },
        { _id: 10, v: Decimal128.fromString('2.5') },
        { _id: 11, v: 2 },
        { _id: 12, v: big },
        { _id: 13, v: Long.fromString('9007199254740992') },
        { _id: 14, v: null },
        { _id: 15, v: new MinKey() },
      ]);
      const ascending = await coll.find({}).sort({ v: 1 }).toArray();
      expect(ascending.map((d) => d._id)).toEqual([15, 14, 11, 10, 13, 12, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
      const descending = await coll.find({}).sort({ v: -1 }).toArray();
      expect(descending.map((d) => d._id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15]);
    } finally {
      await db.dropDatabase();
      await client.close();
    }
  });
});
