/**
 * MongoDB 8.0's client-level bulk write (the `bulkWrite` admin command) through the official driver's
 * `client.bulkWrite`, and the version switch: the same server started as 7.0 has no such command.
 * The file starts servers of its own (8.0 and 7.0), so it means the same whichever release the
 * suite's global server presents (EMBEDDED_MONGO_VERSION).
 */
import {
  type ClientBulkWriteModel,
  type Document,
  Long,
  MongoClient,
  MongoClientBulkWriteError,
  type MongoServerError,
} from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedMongo, startEmbeddedMongo } from '#dev/mongo/index';

type Row = { _id: number | string; n?: number; tag?: string };
/** Every namespace of this file holds rows. */
type Rows = Record<string, Row>;

let server: EmbeddedMongo;
let client: MongoClient;
const sent: { name: string; db: string; command: Document }[] = [];

beforeAll(async () => {
  server = await startEmbeddedMongo({ port: 0, enableTestCommands: true, log: () => {} });
  client = new MongoClient(server.uri, { monitorCommands: true, serverSelectionTimeoutMS: 5_000 });
  client.on('commandStarted', (e) => sent.push({ name: e.commandName, db: e.databaseName, command: e.command }));
  await client.connect();
});

afterAll(async () => {
  await client?.close();
  await server?.stop();
});

/** The bulkWrite commands sent since `mark` (an index into `sent`). */
const bulkWritesSince = (mark: number) => sent.slice(mark).filter((c) => c.name === 'bulkWrite');

describe('the embedded server presents MongoDB 8.0 by default', () => {
  it('reports 8.0 in hello, buildInfo, serverStatus and the feature compatibility version', async () => {
    const admin = client.db('admin');
    const hello = await admin.command({ hello: 1 });
    expect(hello.maxWireVersion).toBe(25);
    const build = await admin.command({ buildInfo: 1 });
    expect(build.version).toMatch(/^8\.0\.\d+$/);
    expect(build.versionArray.slice(0, 2)).toEqual([8, 0]);
    expect((await admin.command({ serverStatus: 1 })).version).toBe(build.version);
    const fcv = await admin.command({ getParameter: 1, featureCompatibilityVersion: 1 });
    expect(fcv.featureCompatibilityVersion).toEqual({ version: '8.0' });
  });
});

describe('client.bulkWrite on 8.0', () => {
  it('writes across collections and databases in one command, with per-operation results', async () => {
    await client
      .db('bw_a')
      .collection<Row>('orders')
      .insertMany([
        { _id: 1, n: 1 },
        { _id: 2, n: 2 },
        { _id: 3, n: 3 },
      ]);
    await client.db('bw_b').collection<Row>('locks').insertOne({ _id: 'old' });
    const mark = sent.length;
    const models: ClientBulkWriteModel<Rows>[] = [
      { name: 'insertOne', namespace: 'bw_a.orders', document: { _id: 4, n: 4 } },
      { name: 'updateOne', namespace: 'bw_a.orders', filter: { _id: 1 }, update: { $inc: { n: 10 } } },
      { name: 'updateMany', namespace: 'bw_a.orders', filter: { _id: { $gte: 2 } }, update: { $set: { tag: 'x' } } },
      { name: 'replaceOne', namespace: 'bw_b.locks', filter: { _id: 'new' }, replacement: { tag: 'y' }, upsert: true },
      { name: 'deleteOne', namespace: 'bw_b.locks', filter: { _id: 'old' } },
      { name: 'deleteMany', namespace: 'bw_a.orders', filter: { n: { $lte: 3 } } },
    ];
    const result = await client.bulkWrite<Rows>(models, { verboseResults: true });

    const commands = bulkWritesSince(mark);
    expect(commands).toHaveLength(1); // six writes, two databases: one message
    expect(commands[0]?.db).toBe('admin');
    expect(commands[0]?.command.nsInfo).toEqual([{ ns: 'bw_a.orders' }, { ns: 'bw_b.locks' }]);
    expect(result).toMatchObject({
      insertedCount: 1,
      matchedCount: 4,
      modifiedCount: 4,
      upsertedCount: 1,
      deletedCount: 3,
    });
    expect(result.insertResults?.get(0)).toEqual({ insertedId: 4 });
    expect(result.updateResults?.get(1)).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect(result.updateResults?.get(2)).toMatchObject({ matchedCount: 3, modifiedCount: 3 });
    expect(result.updateResults?.get(3)).toMatchObject({ matchedCount: 1, modifiedCount: 0, upsertedId: 'new' });
    expect(result.deleteResults?.get(4)).toEqual({ deletedCount: 1 });
    expect(result.deleteResults?.get(5)).toEqual({ deletedCount: 2 });

    expect(await client.db('bw_a').collection('orders').find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, n: 11 },
      { _id: 4, n: 4, tag: 'x' },
    ]);
    expect(await client.db('bw_b').collection('locks').find().toArray()).toEqual([{ _id: 'new', tag: 'y' }]);
  });

  it('ordered: stops at the first write error and reports it with its index; the writes before it stay', async () => {
    const coll = client.db('bw_a').collection<Row>('ordered');
    await coll.insertOne({ _id: 2 });
    const error = await client
      .bulkWrite<Rows>(
        [
          { name: 'insertOne', namespace: 'bw_a.ordered', document: { _id: 1 } },
          { name: 'insertOne', namespace: 'bw_a.ordered', document: { _id: 2 } },
          { name: 'insertOne', namespace: 'bw_a.ordered', document: { _id: 3 } },
        ],
        { verboseResults: true },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MongoClientBulkWriteError);
    const bulkError = error as MongoClientBulkWriteError;
    expect([...bulkError.writeErrors.keys()]).toEqual([1]);
    expect(bulkError.writeErrors.get(1)?.code).toBe(11000);
    expect(bulkError.partialResult?.insertedCount).toBe(1);
    expect((await coll.find().sort({ _id: 1 }).toArray()).map((d) => d._id)).toEqual([1, 2]);
  });

  it('unordered: runs every operation and reports each failure at its index', async () => {
    const coll = client.db('bw_a').collection<Row>('unordered');
    await coll.insertOne({ _id: 2 });
    const error = (await client
      .bulkWrite<Rows>(
        [
          { name: 'insertOne', namespace: 'bw_a.unordered', document: { _id: 1 } },
          { name: 'insertOne', namespace: 'bw_a.unordered', document: { _id: 2 } },
          { name: 'updateOne', namespace: 'bw_a.unordered', filter: { _id: 1 }, update: { $bogus: { n: 1 } } },
          { name: 'insertOne', namespace: 'bw_a.unordered', document: { _id: 3 } },
        ],
        { ordered: false },
      )
      .catch((e: unknown) => e)) as MongoClientBulkWriteError;
    expect(error).toBeInstanceOf(MongoClientBulkWriteError);
    expect([...error.writeErrors.entries()].map(([i, e]) => [i, e.code])).toEqual([
      [1, 11000],
      [2, 9],
    ]);
    expect(error.partialResult?.insertedCount).toBe(2);
    expect((await coll.find().sort({ _id: 1 }).toArray()).map((d) => d._id)).toEqual([1, 2, 3]);
  });

  it('updateOne with sort (8.0) updates the first match in that order', async () => {
    const coll = client.db('bw_a').collection<Row>('sorted');
    await coll.insertMany([
      { _id: 1, n: 5 },
      { _id: 2, n: 9 },
      { _id: 3, n: 7 },
    ]);
    await client.bulkWrite<Rows>([
      { name: 'updateOne', namespace: 'bw_a.sorted', filter: {}, update: { $set: { tag: 'top' } }, sort: { n: -1 } },
    ]);
    expect(await coll.find({ tag: 'top' }).toArray()).toEqual([{ _id: 2, n: 9, tag: 'top' }]);
    await coll.updateOne({}, { $set: { tag: 'low' } }, { sort: { n: 1 } });
    expect(await coll.findOne({ tag: 'low' })).toEqual({ _id: 1, n: 5, tag: 'low' });
  });

  it('in a transaction: all the writes commit together, or none of them is seen', async () => {
    const session = client.startSession();
    try {
      await session.withTransaction(async () => {
        await client.bulkWrite<Rows>(
          [
            { name: 'insertOne', namespace: 'bw_tx.a', document: { _id: 1 } },
            { name: 'insertOne', namespace: 'bw_tx.b', document: { _id: 1 } },
          ],
          { session },
        );
        // Not visible outside the transaction before the commit.
        expect(await client.db('bw_tx').collection('a').countDocuments()).toBe(0);
      });
      expect(await client.db('bw_tx').collection('a').countDocuments()).toBe(1);
      expect(await client.db('bw_tx').collection('b').countDocuments()).toBe(1);

      session.startTransaction();
      const failed = await client
        .bulkWrite<Rows>(
          [
            { name: 'insertOne', namespace: 'bw_tx.a', document: { _id: 2 } },
            { name: 'insertOne', namespace: 'bw_tx.b', document: { _id: 1 } }, // duplicate key
          ],
          { session },
        )
        .catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(MongoClientBulkWriteError);
      // A write error aborts the transaction, as mongod does: the commit is refused (251).
      const commit = await session.commitTransaction().catch((e: unknown) => e);
      expect((commit as MongoServerError).code).toBe(251);
      expect(await client.db('bw_tx').collection('a').countDocuments()).toBe(1);
    } finally {
      await session.endSession();
    }
  });

  it('a write conflict in a transaction fails the whole command (112, TransientTransactionError on the driver error’s cause)', async () => {
    // Not an op error: mongod answers the conflict at the top level, and the Node driver wraps it in a
    // MongoClientBulkWriteError whose own errorLabels are empty, so withTransaction alone does not retry it.
    await client.db('bw_conflict').collection<Row>('locks').insertOne({ _id: 'k', n: 0 });
    const bump: ClientBulkWriteModel<Rows>[] = [
      { name: 'updateOne', namespace: 'bw_conflict.locks', filter: { _id: 'k' }, update: { $inc: { n: 1 } } },
    ];
    const holder = client.startSession();
    const loser = client.startSession();
    try {
      holder.startTransaction();
      loser.startTransaction();
      await client.bulkWrite<Rows>(bump, { session: holder });
      const error = (await client
        .bulkWrite<Rows>(bump, { session: loser })
        .catch((e: unknown) => e)) as MongoClientBulkWriteError;
      expect(error).toBeInstanceOf(MongoClientBulkWriteError);
      expect(error.writeErrors.size).toBe(0);
      const cause = error.cause as MongoServerError;
      expect(cause.code).toBe(112);
      expect(cause.hasErrorLabel('TransientTransactionError')).toBe(true);
      await holder.commitTransaction();
    } finally {
      await loser.endSession();
      await holder.endSession();
    }
    expect(await client.db('bw_conflict').collection<Row>('locks').findOne({ _id: 'k' })).toEqual({ _id: 'k', n: 1 });
  });

  it('a lock another transaction wrote and committed after this one read (its snapshot) fails the bulkWrite with 112, updated or upserted; the retry reads it', async () => {
    // What a move that reads first relies on (lib/db/ordersRepository.ts): its snapshot is fixed by
    // its find, and a create or move that committed a lock of the same window since must make its
    // lock writes conflict, whether that lock existed before (an update) or was new (an upsert).
    const locks = client.db('bw_snapshot').collection<Row>('locks');
    await locks.insertOne({ _id: 'old', n: 0 });
    const bump = (key: string): ClientBulkWriteModel<Rows> => ({
      name: 'updateOne',
      namespace: 'bw_snapshot.locks',
      filter: { _id: key },
      update: { $inc: { n: 1 } },
      upsert: true,
    });
    for (const key of ['old', 'new']) {
      const reader = client.startSession();
      const other = client.startSession();
      try {
        reader.startTransaction();
        const seen = await locks.find({}, { session: reader }).toArray();
        other.startTransaction();
        await client.bulkWrite<Rows>([bump(key)], { session: other });
        await other.commitTransaction();
        const error = (await client
          .bulkWrite<Rows>([bump(key)], { session: reader })
          .catch((e: unknown) => e)) as MongoClientBulkWriteError;
        expect(error, key).toBeInstanceOf(MongoClientBulkWriteError);
        const cause = error.cause as MongoServerError;
        expect(cause.code, key).toBe(112);
        expect(cause.hasErrorLabel('TransientTransactionError'), key).toBe(true);
        await reader.abortTransaction();
        expect(seen.find((row) => row._id === key)?.n, key).toBe(key === 'old' ? 0 : undefined);
      } finally {
        await reader.endSession();
        await other.endSession();
      }
    }
    expect(await locks.find({}).sort({ _id: 1 }).toArray()).toEqual([
      { _id: 'new', n: 1 },
      { _id: 'old', n: 1 },
    ]);

    // withTransaction retries the conflict from the read: the second attempt's snapshot holds the other commit.
    const retrier = client.startSession();
    const other = client.startSession();
    const reads: (number | undefined)[] = [];
    try {
      await retrier.withTransaction(async () => {
        reads.push((await locks.findOne({ _id: 'old' }, { session: retrier }))?.n);
        if (reads.length === 1) {
          await other.withTransaction(() => client.bulkWrite<Rows>([bump('old')], { session: other }));
        }
        await client.bulkWrite<Rows>([bump('old')], { session: retrier }).catch((error: unknown) => {
          // The driver's wrapper carries no label: rethrow the cause, as lib/db/createWrites.ts does.
          throw error instanceof MongoClientBulkWriteError ? error.cause : error;
        });
      });
    } finally {
      await retrier.endSession();
      await other.endSession();
    }
    expect(reads).toEqual([1, 2]);
    expect(await locks.findOne({ _id: 'old' })).toEqual({ _id: 'old', n: 3 });
  });

  it('a retried bulkWrite whose first reply was lost is answered without writing again', async () => {
    // onPrimaryTransactionalWrite fires after the write applied and closes the connection: the driver
    // retries with the same txnNumber, and the server must answer from the first outcome.
    const coll = client.db('bw_retry').collection<Row>('counters');
    await coll.insertOne({ _id: 1, n: 0 });
    await client.db('admin').command({ configureFailPoint: 'onPrimaryTransactionalWrite', mode: { times: 1 } });
    const mark = sent.length;
    const result = await client.bulkWrite<Rows>([
      { name: 'updateOne', namespace: 'bw_retry.counters', filter: { _id: 1 }, update: { $inc: { n: 1 } } },
      { name: 'insertOne', namespace: 'bw_retry.log', document: { _id: 'entry' } },
    ]);
    const commands = bulkWritesSince(mark);
    expect(commands).toHaveLength(2);
    expect(commands[1]?.command.txnNumber).toEqual(commands[0]?.command.txnNumber);
    expect(result).toMatchObject({ modifiedCount: 1, insertedCount: 1 });
    expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, n: 1 }); // applied once
    expect(await client.db('bw_retry').collection('log').countDocuments()).toBe(1);
  });
});

describe('a retried bulkWrite that failed part-way', () => {
  it('runs only the ops that did not commit, as mongod’s statement ids make it', async () => {
    const counters = client.db('bw_partial').collection<Row>('counters');
    await counters.insertOne({ _id: 1, n: 0 });
    await client.db('bw_partial').collection<Row>('dups').insertOne({ _id: 'taken' });
    // A client of its own: the txnNumber set by hand would otherwise collide with the driver's own
    // numbering when the pooled session is reused, and a later write would be taken for a retry.
    const own = new MongoClient(server.uri, { serverSelectionTimeoutMS: 5_000 });
    const session = own.startSession();
    try {
      // The same txnNumber twice is what a driver sends when it retries after losing the reply.
      const command = {
        bulkWrite: 1,
        ops: [
          { update: 0, filter: { _id: 1 }, updateMods: { $inc: { n: 1 } } },
          { insert: 1, document: { _id: 'taken' } },
          { insert: 1, document: { _id: 'fresh' } },
        ],
        nsInfo: [{ ns: 'bw_partial.counters' }, { ns: 'bw_partial.dups' }],
        ordered: false,
        txnNumber: Long.fromNumber(3),
      };
      const first = await own.db('admin').command(command, { session });
      expect(first).toMatchObject({ nErrors: 1, nModified: 1, nInserted: 1 });
      await client.db('bw_partial').collection<Row>('dups').deleteOne({ _id: 'taken' });
      const retry = await own.db('admin').command(command, { session });
      expect(retry).toMatchObject({ nErrors: 0, nModified: 1, nInserted: 2 });
      expect(retry.cursor.firstBatch.map((e: Document) => e.ok)).toEqual([1, 1, 1]);
    } finally {
      await session.endSession();
      await own.close();
    }
    expect(await counters.findOne({ _id: 1 })).toEqual({ _id: 1, n: 1 }); // the $inc applied once
    expect(await client.db('bw_partial').collection('dups').countDocuments()).toBe(2);
  });
});

describe('the bulkWrite command refuses what mongod refuses', () => {
  const run = (command: Document, db = 'admin') =>
    client
      .db(db)
      .command(command)
      .catch((e: unknown) => e as MongoServerError);

  it('an ops entry naming an nsInfo index that does not exist (2 BadValue), before writing anything', async () => {
    const error = (await run({
      bulkWrite: 1,
      ops: [
        { insert: 0, document: { _id: 'first' } },
        { insert: 1, document: { _id: 1 } },
      ],
      nsInfo: [{ ns: 'bw_refuse.c' }],
    })) as MongoServerError;
    expect(error.code).toBe(2);
    expect(error.message).toContain('has an invalid nsInfo index');
    expect(await client.db('bw_refuse').collection('c').countDocuments()).toBe(0);
  });

  it('empty ops (16 InvalidLength), a missing nsInfo (40414), an unknown op field (40415), outside admin (13)', async () => {
    expect(((await run({ bulkWrite: 1, ops: [], nsInfo: [{ ns: 'bw_refuse.c' }] })) as MongoServerError).code).toBe(16);
    expect(((await run({ bulkWrite: 1, ops: [{ insert: 0, document: {} }] })) as MongoServerError).code).toBe(40414);
    const unknown = (await run({
      bulkWrite: 1,
      ops: [{ insert: 0, document: {}, upsert: true }],
      nsInfo: [{ ns: 'bw_refuse.c' }],
    })) as MongoServerError;
    expect(unknown.code).toBe(40415);
    expect(
      (
        (await run(
          { bulkWrite: 1, ops: [{ insert: 0, document: {} }], nsInfo: [{ ns: 'x.c' }] },
          'bw_refuse',
        )) as MongoServerError
      ).code,
    ).toBe(13);
  });

  it('constants: $$ variables of a pipeline update (refused with any other update, 51198, as an op error)', async () => {
    await client.db('bw_const').collection<Row>('c').insertOne({ _id: 1, n: 1 });
    const reply = await client.db('admin').command({
      bulkWrite: 1,
      ops: [
        {
          update: 0,
          filter: { _id: 1 },
          updateMods: [{ $set: { n: { $add: ['$n', '$$step'] } } }],
          constants: { step: 4 },
        },
        { update: 0, filter: { _id: 1 }, updateMods: { $set: { tag: 'x' } }, constants: { step: 4 } },
      ],
      nsInfo: [{ ns: 'bw_const.c' }],
      ordered: false,
    });
    expect(reply.cursor.firstBatch).toMatchObject([
      { ok: 1, idx: 0, n: 1, nModified: 1 },
      { ok: 0, idx: 1, code: 51198 },
    ]);
    expect(await client.db('bw_const').collection<Row>('c').findOne({ _id: 1 })).toEqual({ _id: 1, n: 5 });
  });

  it('answers results through a cursor on admin.$cmd.bulkWrite, batch by batch, and errorsOnly keeps only failures', async () => {
    const ops = Array.from({ length: 5 }, (_, i) => ({ insert: 0, document: { _id: i } }));
    const reply = await client
      .db('admin')
      .command({ bulkWrite: 1, ops, nsInfo: [{ ns: 'bw_cursor.c' }], cursor: { batchSize: 2 } });
    expect(reply).toMatchObject({ nErrors: 0, nInserted: 5, nMatched: 0, nModified: 0, nUpserted: 0, nDeleted: 0 });
    expect(reply.cursor.ns).toBe('admin.$cmd.bulkWrite');
    expect(reply.cursor.firstBatch).toEqual([
      { ok: 1, idx: 0, n: 1 },
      { ok: 1, idx: 1, n: 1 },
    ]);
    const more = await client
      .db('admin')
      .command({ getMore: reply.cursor.id as Long, collection: '$cmd.bulkWrite', batchSize: 10 });
    expect(more.cursor.nextBatch.map((e: Document) => e.idx)).toEqual([2, 3, 4]);

    const errorsOnly = await client.db('admin').command({
      bulkWrite: 1,
      ops: [
        { insert: 0, document: { _id: 0 } },
        { insert: 0, document: { _id: 9 } },
      ],
      nsInfo: [{ ns: 'bw_cursor.c' }],
      ordered: false,
      errorsOnly: true,
    });
    expect(errorsOnly.nErrors).toBe(1);
    expect(errorsOnly.nInserted).toBe(1);
    expect(errorsOnly.cursor.firstBatch).toMatchObject([{ ok: 0, idx: 0, code: 11000 }]);
  });
});

describe('started as MongoDB 7.0', () => {
  let server7: EmbeddedMongo;
  let client7: MongoClient;
  beforeAll(async () => {
    server7 = await startEmbeddedMongo({ port: 0, version: '7.0', log: () => {} });
    client7 = new MongoClient(server7.uri, { serverSelectionTimeoutMS: 5_000 });
    await client7.connect();
  });
  afterAll(async () => {
    await client7?.close();
    await server7?.stop();
  });

  it('reports 7.0 (maxWireVersion 21) and has no bulkWrite command (59) nor sort in updates (40415)', async () => {
    const admin = client7.db('admin');
    expect((await admin.command({ hello: 1 })).maxWireVersion).toBe(21);
    expect((await admin.command({ buildInfo: 1 })).version).toMatch(/^7\.0\.\d+$/);
    const bulk = await admin
      .command({ bulkWrite: 1, ops: [{ insert: 0, document: {} }], nsInfo: [{ ns: 'v7.c' }] })
      .catch((e: unknown) => e as MongoServerError);
    expect((bulk as MongoServerError).code).toBe(59);
    const sorted = await client7
      .db('v7')
      .collection('c')
      .updateOne({}, { $set: { a: 1 } }, { sort: { a: 1 } })
      .catch((e: unknown) => e as MongoServerError);
    expect((sorted as MongoServerError).code).toBe(40415);
    expect(await client7.db('v7').collection('c').countDocuments()).toBe(0);
  });
});
