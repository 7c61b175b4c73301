import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Db, type Document, MongoServerError } from 'mongodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { encodeRecord, FILE_MAGIC } from '#dev/mongo/storage/journal-format';
import { isEmbeddedMongo, uniqueDbName, useTestDatabase } from '../support/mongo.ts';
import { withServer } from '../support/restart.ts';

/** Test documents: a chosen `_id` and any fields. */
interface Row {
  _id: number | string;
  [field: string]: unknown;
}

/** The server error an operation fails with (fails the test if it succeeds). */
async function serverError(run: () => Promise<unknown>): Promise<MongoServerError> {
  try {
    await run();
  } catch (err) {
    if (err instanceof MongoServerError) return err;
    throw err;
  }
  throw new Error('expected a server error');
}

describe('aggregation $out and $merge', () => {
  const { client, db } = useTestDatabase('outmerge');
  let src: string;
  let dst: string;

  beforeEach(async () => {
    const suffix = Math.random().toString(36).slice(2, 8);
    src = `src_${suffix}`;
    dst = `dst_${suffix}`;
    await db.collection<Row>(src).insertMany([
      { _id: 1, x: 11, k: 'a' },
      { _id: 2, x: 22, k: 'b' },
      { _id: 3, x: 33, k: 'c' },
    ]);
  });

  const sorted = (name: string): Promise<Document[]> => db.collection<Row>(name).find().sort({ _id: 1 }).toArray();
  const collectionNames = async (): Promise<string[]> =>
    (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);

  it('$out replaces the target with the results and answers an empty, closed cursor', async () => {
    await db.collection<Row>(dst).insertMany([
      { _id: 9, old: true },
      { _id: 2, old: true },
    ]);
    const reply = await db.command({
      aggregate: src,
      pipeline: [{ $match: { _id: { $gt: 1 } } }, { $out: dst }],
      cursor: {},
    });
    expect(reply.cursor.firstBatch).toEqual([]);
    expect(String(reply.cursor.id)).toBe('0');
    expect(await sorted(dst)).toEqual([
      { _id: 2, x: 22, k: 'b' },
      { _id: 3, x: 33, k: 'c' },
    ]);
    // No temporary collection is left behind.
    expect((await collectionNames()).filter((n) => n.startsWith('tmp.agg_out'))).toEqual([]);
  });

  it('$out keeps the indexes of an existing target, and they still hold afterwards', async () => {
    await db.collection<Row>(dst).createIndex({ k: 1 }, { unique: true, name: 'k_unique' });
    await db
      .collection(src)
      .aggregate([{ $out: dst }])
      .toArray();
    const indexes = await db.collection<Row>(dst).listIndexes().toArray();
    expect(indexes.map((i) => [i.name, i.unique ?? false])).toEqual([
      ['_id_', false],
      ['k_unique', true],
    ]);
    const err = await serverError(() => db.collection<Row>(dst).insertOne({ _id: 4, k: 'a' }));
    expect(err.code).toBe(11000);
  });

  it('$out failing on a duplicate key (11000) leaves the old target, its indexes and no temporary collection', async () => {
    await db.collection<Row>(dst).insertOne({ _id: 'old', k: 'z' });
    await db.collection<Row>(dst).createIndex({ k: 1 }, { unique: true });
    const err = await serverError(() =>
      db
        .collection(src)
        .aggregate([{ $set: { k: 'same' } }, { $out: dst }])
        .toArray(),
    );
    expect(err.code).toBe(11000);
    expect(err.message).toMatch(/tmp\.agg_out\..* index: k_1 dup key: \{ k: "same" \}/);
    expect(await sorted(dst)).toEqual([{ _id: 'old', k: 'z' }]);
    expect((await db.collection<Row>(dst).listIndexes().toArray()).map((i) => i.name)).toEqual(['_id_', 'k_1']);
    expect((await collectionNames()).filter((n) => n.startsWith('tmp.agg_out'))).toEqual([]);
  });

  it('$out may write to the collection it reads and to another database', async () => {
    await db
      .collection(src)
      .aggregate([{ $match: { x: { $gte: 22 } } }, { $out: src }])
      .toArray();
    expect((await sorted(src)).map((d) => d._id)).toEqual([2, 3]);

    const other = client.db(uniqueDbName('outmerge_other'));
    try {
      await db
        .collection(src)
        .aggregate([{ $project: { x: 1 } }, { $out: { db: other.databaseName, coll: 'copy' } }])
        .toArray();
      expect(await other.collection<Row>('copy').find().sort({ _id: 1 }).toArray()).toEqual([
        { _id: 2, x: 22 },
        { _id: 3, x: 33 },
      ]);
    } finally {
      await other.dropDatabase();
    }
  });

  it('$out and $merge must be the last stage (40601)', async () => {
    for (const stage of [{ $out: dst }, { $merge: { into: dst } }]) {
      const err = await serverError(() =>
        db
          .collection(src)
          .aggregate([stage, { $match: {} }])
          .toArray(),
      );
      expect(err.code).toBe(40601);
      expect(err.message).toBe(`${Object.keys(stage)[0]} can only be the final stage in the pipeline`);
    }
    expect(await collectionNames()).not.toContain(dst);
  });

  it('$out and $merge are refused inside sub-pipelines ($facet 40600, $lookup 51047)', async () => {
    const facet = await serverError(() =>
      db
        .collection(src)
        .aggregate([{ $facet: { a: [{ $out: dst }] } }])
        .toArray(),
    );
    expect(facet.code).toBe(40600);
    const lookup = await serverError(() =>
      db
        .collection(src)
        .aggregate([{ $lookup: { from: src, pipeline: [{ $merge: { into: dst } }], as: 'j' } }])
        .toArray(),
    );
    expect(lookup.code).toBe(51047);
    expect(await collectionNames()).not.toContain(dst);
  });

  it('$out and $merge cannot be used in a transaction (263), which is then aborted', async () => {
    for (const stage of [{ $out: dst }, { $merge: { into: dst } }]) {
      const session = client.startSession();
      try {
        session.startTransaction();
        await db.collection<Row>(src).insertOne({ _id: 100 }, { session });
        const err = await serverError(() => db.collection<Row>(src).aggregate([stage], { session }).toArray());
        expect(err.code).toBe(263);
        expect(err.codeName).toBe('OperationNotSupportedInTransaction');
        expect(err.message).toBe(`${Object.keys(stage)[0]} cannot be used in a transaction`);
        const commit = await serverError(() => session.commitTransaction());
        expect(commit.code).toBe(251); // NoSuchTransaction: the error aborted it
      } finally {
        await session.endSession();
      }
    }
    expect(await db.collection<Row>(src).findOne({ _id: 100 })).toBeNull();
    expect(await collectionNames()).not.toContain(dst);
  });

  it('$merge by default merges fields into matches and inserts the rest', async () => {
    await db.collection<Row>(dst).insertMany([
      { _id: 1, x: 0, kept: true },
      { _id: 7, x: 7 },
    ]);
    const reply = await db.command({ aggregate: src, pipeline: [{ $merge: { into: dst } }], cursor: {} });
    expect(reply.cursor.firstBatch).toEqual([]);
    expect(await sorted(dst)).toEqual([
      { _id: 1, x: 11, kept: true, k: 'a' },
      { _id: 2, x: 22, k: 'b' },
      { _id: 3, x: 33, k: 'c' },
      { _id: 7, x: 7 },
    ]);
  });

  it('$merge whenMatched replace / keepExisting, whenNotMatched discard', async () => {
    await db.collection<Row>(dst).insertMany([
      { _id: 1, x: 0, kept: true },
      { _id: 2, x: 0 },
    ]);
    await db
      .collection(src)
      .aggregate([{ $match: { _id: 1 } }, { $merge: { into: dst, whenMatched: 'replace', whenNotMatched: 'discard' } }])
      .toArray();
    await db
      .collection(src)
      .aggregate([{ $merge: { into: dst, whenMatched: 'keepExisting' } }])
      .toArray();
    expect(await sorted(dst)).toEqual([
      { _id: 1, x: 11, k: 'a' }, // replaced: 'kept' is gone
      { _id: 2, x: 0 }, // kept as it was
      { _id: 3, x: 33, k: 'c' }, // inserted
    ]);
  });

  it('$merge whenMatched fail reports the duplicate key (11000) with keyPattern/keyValue', async () => {
    await db.collection<Row>(dst).insertOne({ _id: 2, x: 0 });
    const err = await serverError(() =>
      db
        .collection(src)
        .aggregate([{ $merge: { into: dst, whenMatched: 'fail' } }])
        .toArray(),
    );
    expect(err.code).toBe(11000);
    expect(err.errorResponse.keyPattern).toEqual({ _id: 1 });
    expect(err.errorResponse.keyValue).toEqual({ _id: 2 });
    expect(err.message).toMatch(/^\$merge with whenMatched: fail found an existing document .* :: caused by :: E11000/);
    // Writes are unordered, like mongod's: the documents without a match were inserted.
    expect((await sorted(dst)).map((d) => d._id)).toEqual([1, 2, 3]);
  });

  it('$merge whenNotMatched fail gives 13113 when a result has no match', async () => {
    await db.collection<Row>(dst).insertOne({ _id: 1, x: 0 });
    const err = await serverError(() =>
      db
        .collection(src)
        .aggregate([{ $merge: { into: dst, whenMatched: 'merge', whenNotMatched: 'fail' } }])
        .toArray(),
    );
    expect(err.code).toBe(13113);
    expect(err.codeName).toBe('MergeStageNoMatchingDocument');
    expect(await sorted(dst)).toEqual([{ _id: 1, x: 11, k: 'a' }]);
  });

  it('$merge on a field needs a unique index on it (51183)', async () => {
    await db.collection<Row>(dst).createIndex({ k: 1 });
    const err = await serverError(() =>
      db
        .collection(src)
        .aggregate([{ $project: { _id: 0 } }, { $merge: { into: dst, on: 'k' } }])
        .toArray(),
    );
    expect(err.code).toBe(51183);
    expect(err.message).toBe('Cannot find index to verify that join fields will be unique');

    // A unique index whose collation differs from the aggregation's (simple) does not count either.
    await db.collection<Row>(dst).dropIndexes();
    await db.collection<Row>(dst).createIndex({ k: 1 }, { unique: true, collation: { locale: 'en', strength: 2 } });
    const collated = await serverError(() =>
      db
        .collection(src)
        .aggregate([{ $project: { _id: 0 } }, { $merge: { into: dst, on: 'k' } }])
        .toArray(),
    );
    expect(collated.code).toBe(51183);

    await db.collection<Row>(dst).dropIndexes();
    await db.collection<Row>(dst).createIndex({ k: 1 }, { unique: true });
    await db.collection<Row>(dst).insertOne({ _id: 'a-doc', k: 'a', x: 0 });
    await db
      .collection(src)
      .aggregate([{ $project: { _id: 0 } }, { $merge: { into: dst, on: 'k', whenMatched: 'merge' } }])
      .toArray();
    const docs = await db
      .collection(dst)
      .find({}, { projection: { _id: 0 } })
      .sort({ k: 1 })
      .toArray();
    expect(docs).toEqual([
      { k: 'a', x: 11 },
      { k: 'b', x: 22 },
      { k: 'c', x: 33 },
    ]);
    expect(await db.collection<Row>(dst).findOne({ k: 'a' })).toMatchObject({ _id: 'a-doc' });
  });

  it("$merge with a result missing an 'on' field fails with 51132 before writing anything", async () => {
    await db.collection<Row>(dst).createIndex({ k: 1 }, { unique: true });
    await db.collection<Row>(dst).insertOne({ _id: 'pre', k: 'z' });
    const err = await serverError(() =>
      db
        .collection<Row>(src)
        .aggregate([
          { $set: { k: { $cond: [{ $eq: ['$_id', 3] }, '$$REMOVE', '$k'] } } },
          { $merge: { into: dst, on: 'k' } },
        ])
        .toArray(),
    );
    expect(err.code).toBe(51132);
    expect(err.message).toBe("$merge write error: 'on' field 'k' cannot be missing, null, undefined or an array");
    expect(await sorted(dst)).toEqual([{ _id: 'pre', k: 'z' }]);
  });

  it('$merge whenMatched pipeline sees $$new and the let variables', async () => {
    await db.collection<Row>(dst).insertMany([
      { _id: 1, total: 100 },
      { _id: 2, total: 200 },
    ]);
    await db
      .collection(src)
      .aggregate([
        {
          $merge: {
            into: dst,
            let: { add: '$x' },
            whenMatched: [{ $set: { total: { $add: ['$total', '$$add'] }, from: '$$new.k' } }],
            whenNotMatched: 'insert',
          },
        },
      ])
      .toArray();
    expect(await sorted(dst)).toEqual([
      { _id: 1, total: 111, from: 'a' },
      { _id: 2, total: 222, from: 'b' },
      { _id: 3, x: 33, k: 'c' }, // no match: the result itself is inserted
    ]);
  });

  it('$merge into the collection it reads, and from a database-level $documents', async () => {
    await db
      .collection(src)
      .aggregate([{ $set: { y: 1 } }, { $merge: { into: src } }])
      .toArray();
    expect((await sorted(src)).map((d) => d.y)).toEqual([1, 1, 1]);

    await db.aggregate([{ $documents: [{ _id: 5, x: 55 }] }, { $merge: { into: dst } }]).toArray();
    expect(await sorted(dst)).toEqual([{ _id: 5, x: 55 }]);
  });

  it('$merge refuses unsupported mode pairs (51181) and let without a pipeline (51199)', async () => {
    const modes = await serverError(() =>
      db
        .collection(src)
        .aggregate([{ $merge: { into: dst, whenMatched: 'fail', whenNotMatched: 'discard' } }])
        .toArray(),
    );
    expect(modes.code).toBe(51181);
    const letErr = await serverError(() =>
      db
        .collection(src)
        .aggregate([{ $merge: { into: dst, let: { a: 1 }, whenMatched: 'replace' } }])
        .toArray(),
    );
    expect(letErr.code).toBe(51199);
  });

  it('applies the write concern: w: 2 on one node answers a writeConcernError after writing', async () => {
    const err = await serverError(() =>
      db.command({
        aggregate: src,
        pipeline: [{ $out: dst }],
        cursor: {},
        writeConcern: { w: 2 },
        bypassDocumentValidation: true,
      }),
    );
    expect(err.code).toBe(100);
    expect(err.codeName).toBe('UnsatisfiableWriteConcern');
    expect(await db.collection<Row>(dst).countDocuments()).toBe(3);
  });
});

describe.runIf(isEmbeddedMongo())('aggregation $out and the journal', () => {
  it('an acknowledged $out survives a restart (target replaced, indexes kept); leftover temporary collections are dropped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'embedded-out-'));
    try {
      const run = async (body: (db: Db) => Promise<void>): Promise<void> => {
        await withServer(dir, (client) => body(client.db('journaled')));
      };
      await run(async (db) => {
        await db.collection<Row>('src').insertMany([{ _id: 1 }, { _id: 2 }]);
        await db.collection<Row>('dst').insertOne({ _id: 'old' });
        await db.collection<Row>('dst').createIndex({ v: 1 }, { name: 'v_1' });
        await db
          .collection('src')
          .aggregate([{ $set: { v: '$_id' } }, { $out: 'dst' }])
          .toArray();
        await db.collection<Row>('dst').insertOne({ _id: 3, v: 3 }); // a write after the rename
      });
      await run(async (db) => {
        expect(await db.collection<Row>('dst').find().sort({ _id: 1 }).toArray()).toEqual([
          { _id: 1, v: 1 },
          { _id: 2, v: 2 },
          { _id: 3, v: 3 },
        ]);
        expect((await db.collection<Row>('dst').listIndexes().toArray()).map((i) => i.name)).toEqual(['_id_', 'v_1']);
        const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
        expect(names).toEqual(['dst', 'src']);
        // What an interrupted $out leaves behind (a crash while it waits) is dropped at startup, like mongod.
        await db.createCollection('tmp.agg_out.interrupted');
        await db.collection<Row>('tmp.agg_out.interrupted').insertOne({ _id: 1 });
      });
      await run(async (db) => {
        const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
        expect(names).toEqual(['dst', 'src']);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it("replay: $out's rename voids an older write to the old target that reached the journal after it", async () => {
    // `s` is the order changes were applied; records reach the file in unit completion order.
    const put = (s: number, name: string, _id: number | string) => ({ op: 'put', db: 'j', name, doc: { _id }, s });
    const temp = 'tmp.agg_out.0123';
    const dir = mkdtempSync(join(tmpdir(), 'embedded-out-'));
    try {
      writeFileSync(
        join(dir, 'journal.bson'),
        Buffer.concat([
          FILE_MAGIC,
          encodeRecord({
            ops: [
              { op: 'createCollection', db: 'j', name: 'x', options: {}, s: 1 },
              { op: 'createCollection', db: 'j', name: temp, options: {}, s: 2 },
              put(3, temp, 1),
              { op: 'renameCollection', db: 'j', name: temp, to: 'x', s: 5 },
            ],
          }),
          encodeRecord({ ops: [put(4, 'x', 'late')] }), // applied to the old target before the rename
          encodeRecord({ ops: [put(6, 'x', 2)] }), // written to the new target
        ]),
      );
      await withServer(dir, async (client) => {
        const db = client.db('j');
        expect(await db.collection<Row>('x').find().sort({ _id: 1 }).toArray()).toEqual([{ _id: 1 }, { _id: 2 }]);
        expect((await db.listCollections().toArray()).map((c) => c.name)).toEqual(['x']);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
