/**
 * The fail points the API's fault suite drives (configureFailPoint / failCommand, as mongod has them),
 * through the official driver. The suite's server has test commands enabled; every fail point here
 * is scoped to a client of this file by `appName`, so test files running in parallel are untouched.
 */
import { randomBytes } from 'node:crypto';
import { type Document, Long, MongoClient, type MongoError, MongoNetworkError, MongoServerError } from 'mongodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startEmbeddedMongo } from '#dev/mongo/index';
import { lockFailCommand } from '../support/failCommandLock.ts';
import { testMongoUri, useTestClient, useTestDatabase } from '../support/mongo.ts';
import { withServer } from '../support/restart.ts';

/** The documents of this file: numbered or named ids. */
type Row = { _id: string | number; n?: number };

const { client: admin, db } = useTestDatabase('failpoints');

/** A client of its own, named so a fail point can target it alone. */
async function appClient(options: { retryWrites?: boolean } = {}): Promise<{ client: MongoClient; appName: string }> {
  const appName = `fp-${randomBytes(4).toString('hex')}`;
  const client = new MongoClient(testMongoUri(), { appName, serverSelectionTimeoutMS: 5_000, ...options });
  await client.connect();
  opened.push(client);
  return { client, appName };
}

const opened: MongoClient[] = [];

/** Sets failCommand for one appName; returns configureFailPoint's reply. */
function failCommand(appName: string, mode: unknown, data: Document): Promise<Document> {
  return admin.db('admin').command({ configureFailPoint: 'failCommand', mode, data: { ...data, appName } });
}

// One failCommand per server: the suite's other files that set it (tests/faults) take turns.
// The lock has a client of its own: its writes must not advance the txnNumbers of the sessions
// this file's tests set by hand.
const lockClient = useTestClient();
let releaseFailCommand: (() => Promise<void>) | undefined;

beforeEach(async () => {
  releaseFailCommand = await lockFailCommand(lockClient);
});

afterEach(async () => {
  await admin.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' });
  for (const c of opened.splice(0)) await c.close();
  await releaseFailCommand?.();
});

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<MongoError> {
  try {
    await p;
  } catch (err) {
    return err as MongoError;
  }
  throw new Error('expected the operation to fail');
}

describe('configureFailPoint', () => {
  it('is not found (59) on a server started without test commands, as on a production mongod', async () => {
    await withServer(undefined, async (client) => {
      const err = await rejection(
        client.db('admin').command({ configureFailPoint: 'failCommand', mode: 'alwaysOn', data: {} }),
      );
      expect(err).toBeInstanceOf(MongoServerError);
      expect(err.code).toBe(59);
    });
  });

  it('refuses an unknown mode (2) and an unknown fail point (266) when test commands are on', async () => {
    const adminDb = admin.db('admin');
    expect((await rejection(adminDb.command({ configureFailPoint: 'failCommand', mode: 'sometimes' }))).code).toBe(2);
    expect((await rejection(adminDb.command({ configureFailPoint: 'noSuchPoint', mode: 'off' }))).code).toBe(266);
  });
});

describe('waitForFailPoint', () => {
  it('answers once the fail point has fired the running total asked for, while the command it holds still runs', async () => {
    const { client, appName } = await appClient();
    const coll = client.db(db.databaseName).collection<Row>('wait');
    const { count } = await failCommand(
      appName,
      { times: 1 },
      { failCommands: ['insert'], blockConnection: true, blockTimeMS: 400 },
    );
    let answered = false;
    const waiting = admin
      .db('admin')
      .command({ waitForFailPoint: 'failCommand', timesEntered: Number(count) + 1, maxTimeMS: 10_000 })
      .then(() => {
        answered = true;
      });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(answered).toBe(false);
    const blocked = coll.insertOne({ _id: 'held' });
    await waiting;
    // Entered, and still held: the insert is not stored yet.
    expect(await db.collection<Row>('wait').countDocuments({ _id: 'held' })).toBe(0);
    await blocked;
    expect(await db.collection<Row>('wait').countDocuments({ _id: 'held' })).toBe(1);
  });

  it('is MaxTimeMSExpired (50) when the fail point is not entered in time', async () => {
    const { appName } = await appClient();
    const { count } = await failCommand(appName, 'alwaysOn', { failCommands: ['find'], errorCode: 2 });
    const err = await rejection(
      admin.db('admin').command({ waitForFailPoint: 'failCommand', timesEntered: Number(count) + 1, maxTimeMS: 50 }),
    );
    expect(err.code).toBe(50);
  });

  it('refuses a missing timesEntered (40414) and an unknown fail point (266)', async () => {
    const adminDb = admin.db('admin');
    expect((await rejection(adminDb.command({ waitForFailPoint: 'failCommand', maxTimeMS: 50 }))).code).toBe(40414);
    expect(
      (await rejection(adminDb.command({ waitForFailPoint: 'noSuchPoint', timesEntered: 1, maxTimeMS: 50 }))).code,
    ).toBe(266);
  });
});

describe('failCommand modes', () => {
  it('{ times: 2 } fails the next two matching commands, then turns itself off; other commands do not count', async () => {
    const { client, appName } = await appClient();
    const coll = client.db(db.databaseName).collection<Row>('times');
    await failCommand(appName, { times: 2 }, { failCommands: ['find'], errorCode: 2 });
    await coll.insertOne({ _id: 1 }); // not named: runs, and uses up nothing
    expect((await rejection(coll.findOne({}))).code).toBe(2);
    expect((await rejection(coll.findOne({}))).code).toBe(2);
    expect(await coll.findOne({})).toEqual({ _id: 1 });
  });

  it('{ skip: 1 } lets the first matching command through, then fails every later one', async () => {
    const { client, appName } = await appClient();
    const coll = client.db(db.databaseName).collection<Row>('skip');
    await failCommand(appName, { skip: 1 }, { failCommands: ['find'], errorCode: 2 });
    expect(await coll.findOne({})).toBeNull();
    expect((await rejection(coll.findOne({}))).code).toBe(2);
    expect((await rejection(coll.findOne({}))).code).toBe(2);
  });

  it('reports in count how often the fail point fired before it was set again', async () => {
    const { client, appName } = await appClient();
    const coll = client.db(db.databaseName).collection<Row>('count');
    const before = (await failCommand(appName, 'alwaysOn', { failCommands: ['find'], errorCode: 2 })).count as number;
    await rejection(coll.findOne({}));
    await rejection(coll.findOne({}));
    const after = await admin.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' });
    expect(after.count).toBe(before + 2);
  });

  it('fails only the clients whose appName it names', async () => {
    const { client, appName } = await appClient();
    const other = await appClient();
    await failCommand(appName, 'alwaysOn', { failCommands: ['find'], errorCode: 2 });
    expect(await other.client.db(db.databaseName).collection<Row>('app').findOne({})).toBeNull();
    expect((await rejection(client.db(db.databaseName).collection<Row>('app').findOne({}))).code).toBe(2);
  });
});

describe('failCommand around a write', () => {
  it('blockConnection holds the command for blockTimeMS, then errorCode fails it (nothing written)', async () => {
    const { client, appName } = await appClient({ retryWrites: false });
    const coll = client.db(db.databaseName).collection<Row>('blocked');
    await failCommand(
      appName,
      { times: 1 },
      { failCommands: ['insert'], blockConnection: true, blockTimeMS: 300, errorCode: 91 },
    );
    const started = performance.now();
    const err = await rejection(coll.insertOne({ _id: 1 }));
    // A lower bound only: the server waited at least as long as it was told (never a speed target).
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(err.code).toBe(91);
    expect(await admin.db(db.databaseName).collection('blocked').countDocuments({})).toBe(0);
  });

  it('writeConcernError on a write: the write is applied and the reply reports the error', async () => {
    const { client, appName } = await appClient({ retryWrites: false });
    const coll = client.db(db.databaseName).collection<Row>('wceInsert');
    await failCommand(
      appName,
      { times: 1 },
      { failCommands: ['insert'], writeConcernError: { code: 64, errmsg: 'waiting for replication timed out' } },
    );
    const err = await rejection(coll.insertOne({ _id: 1 }));
    expect(err.code).toBe(64);
    expect(await admin.db(db.databaseName).collection<Row>('wceInsert').countDocuments({ _id: 1 })).toBe(1);
  });
});

describe('failCommand on transactions', () => {
  it('errorCode on commitTransaction: RetryableWriteError as mongod labels it; the commit stays possible and applies once', async () => {
    const { client, appName } = await appClient();
    const coll = client.db(db.databaseName).collection<Row>('commitError');
    await coll.insertOne({ _id: 'seed' });
    // Twice: the driver retries a commit labelled RetryableWriteError once, so both attempts fail.
    await failCommand(appName, { times: 2 }, { failCommands: ['commitTransaction'], errorCode: 91 });
    const session = client.startSession();
    try {
      session.startTransaction();
      await coll.insertOne({ _id: 'order' }, { session });
      const err = await rejection(session.commitTransaction());
      expect(err.code).toBe(91);
      expect(err.hasErrorLabel('RetryableWriteError')).toBe(true);
      expect(err.hasErrorLabel('UnknownTransactionCommitResult')).toBe(true);
      expect(await admin.db(db.databaseName).collection<Row>('commitError').countDocuments({ _id: 'order' })).toBe(0);
      // The failed commits never ran, so the transaction is still open and commits now.
      await session.commitTransaction();
    } finally {
      await session.endSession();
    }
    expect(await admin.db(db.databaseName).collection<Row>('commitError').countDocuments({ _id: 'order' })).toBe(1);
  });

  it('errorCode inside a transaction: TransientTransactionError, and errorLabels replaces mongod’s labels', async () => {
    const { client, appName } = await appClient();
    const coll = client.db(db.databaseName).collection<Row>('transient');
    await coll.insertOne({ _id: 'seed' });
    await failCommand(appName, { times: 1 }, { failCommands: ['insert'], errorCode: 112 });
    const session = client.startSession();
    try {
      session.startTransaction();
      const err = await rejection(coll.insertOne({ _id: 'a' }, { session }));
      expect(err.code).toBe(112);
      expect(err.hasErrorLabel('TransientTransactionError')).toBe(true);
      await session.abortTransaction();

      await failCommand(appName, { times: 1 }, { failCommands: ['insert'], errorCode: 112, errorLabels: [] });
      session.startTransaction();
      const unlabelled = await rejection(coll.insertOne({ _id: 'b' }, { session }));
      expect(unlabelled.code).toBe(112);
      expect(unlabelled.hasErrorLabel('TransientTransactionError')).toBe(false);
      await session.abortTransaction();
    } finally {
      await session.endSession();
    }
  });

  it('writeConcernError on commitTransaction: the commit applies, the error says its outcome is unknown, a retried commit answers committed', async () => {
    const { client, appName } = await appClient();
    const coll = client.db(db.databaseName).collection<Row>('commitWce');
    await coll.insertOne({ _id: 'seed' });
    await failCommand(
      appName,
      { times: 1 },
      {
        failCommands: ['commitTransaction'],
        writeConcernError: { code: 64, codeName: 'WriteConcernFailed', errmsg: 'waiting for replication timed out' },
      },
    );
    const session = client.startSession();
    try {
      session.startTransaction();
      await coll.insertOne({ _id: 'order' }, { session });
      const err = await rejection(session.commitTransaction());
      expect(err.code).toBe(64);
      expect(err.hasErrorLabel('UnknownTransactionCommitResult')).toBe(true);
      expect(await admin.db(db.databaseName).collection<Row>('commitWce').countDocuments({ _id: 'order' })).toBe(1);
      await session.commitTransaction(); // the retry the label asks for
    } finally {
      await session.endSession();
    }
    expect(await admin.db(db.databaseName).collection<Row>('commitWce').countDocuments({ _id: 'order' })).toBe(1);
  });
});

describe('closeConnection during a write', () => {
  it('without retryable writes: a network error, and nothing was written (the command never ran)', async () => {
    const { client, appName } = await appClient({ retryWrites: false });
    const coll = client.db(db.databaseName).collection<Row>('closeNoRetry');
    await failCommand(appName, { times: 1 }, { failCommands: ['insert'], closeConnection: true });
    expect(await rejection(coll.insertOne({ _id: 1 }))).toBeInstanceOf(MongoNetworkError);
    expect(await admin.db(db.databaseName).collection<Row>('closeNoRetry').countDocuments({})).toBe(0);
  });

  it('with retryable writes: the driver retries once and the document is stored exactly once', async () => {
    const { client, appName } = await appClient();
    const coll = client.db(db.databaseName).collection<Row>('closeRetry');
    await failCommand(appName, { times: 1 }, { failCommands: ['insert'], closeConnection: true });
    await coll.insertOne({ _id: 1 });
    expect(await admin.db(db.databaseName).collection<Row>('closeRetry').countDocuments({})).toBe(1);
  });

  it('onPrimaryTransactionalWrite: the reply of an applied retryable write is lost, and the retry is answered without writing again', async () => {
    // A server of its own: this fail point has no appName filter, so it would reach other files' writes.
    const server = await startEmbeddedMongo({ port: 0, enableTestCommands: true, log: () => {} });
    const client = new MongoClient(server.uri, { monitorCommands: true });
    const sent: string[] = [];
    client.on('commandStarted', (e) => sent.push(e.commandName));
    try {
      const coll = client.db('lostReply').collection<Row>('orders');
      await coll.insertOne({ _id: 1, n: 0 });
      await client.db('admin').command({ configureFailPoint: 'onPrimaryTransactionalWrite', mode: { times: 1 } });
      sent.length = 0;
      const result = await coll.updateOne({ _id: 1 }, { $inc: { n: 1 } });
      expect(result.modifiedCount).toBe(1);
      expect(sent).toEqual(['update', 'update']); // the first reply was lost, the retry answered
      expect(await coll.findOne({ _id: 1 })).toEqual({ _id: 1, n: 1 }); // applied once
    } finally {
      await client.close();
      await server.stop();
    }
  });
});

describe('a retried retryable write that failed part-way', () => {
  it('runs only the statements that did not commit, as mongod’s statement ids make it', async () => {
    const coll = db.collection<Row>('partialRetry');
    await coll.insertOne({ _id: 2 });
    const session = admin.startSession();
    try {
      // The same txnNumber twice is what a driver sends when it retries after losing the reply.
      const insert = {
        insert: 'partialRetry',
        documents: [{ _id: 1 }, { _id: 2 }, { _id: 3 }],
        txnNumber: Long.fromNumber(7),
      };
      const first = await db.command(insert, { session });
      expect(first.n).toBe(1);
      expect(first.writeErrors.map((e: Document) => [e.index, e.code])).toEqual([[1, 11000]]);
      await coll.deleteOne({ _id: 2 });
      const retry = await db.command(insert, { session });
      expect(retry.writeErrors).toBeUndefined();
      expect(retry.n).toBe(3);
    } finally {
      await session.endSession();
    }
    expect(await coll.find().sort({ _id: 1 }).toArray()).toEqual([{ _id: 1 }, { _id: 2 }, { _id: 3 }]);
  });
});
