import {
  type ChangeStream,
  type ChangeStreamDocument,
  type Collection,
  type Document,
  MongoServerError,
  Timestamp,
} from 'mongodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { isEmbeddedMongo, useTestClient, useTestDatabase } from '../support/mongo.ts';
import { acrossRestart, withServer } from '../support/restart.ts';

interface Item {
  _id: number;
  v?: number;
  tags?: string[];
  gone?: boolean;
  w?: number;
}

/** Reads the next `n` events of a stream (each `next()` waits through as many getMores as it takes). */
async function take(stream: ChangeStream<Item>, n: number): Promise<ChangeStreamDocument<Item>[]> {
  const events: ChangeStreamDocument<Item>[] = [];
  while (events.length < n) events.push(await stream.next());
  return events;
}

/** The event without its per-run fields (_id, clusterTime, wallTime), checked for shape first. */
function stable(event: ChangeStreamDocument<Item>): Document {
  const { _id, clusterTime, wallTime, ...rest } = event as Document;
  expect(typeof (_id as Document)._data).toBe('string');
  expect(clusterTime).toBeInstanceOf(Timestamp);
  expect(wallTime).toBeInstanceOf(Date);
  return rest;
}

/** Opens a stream on the server now (the driver sends its aggregate lazily), checking nothing came yet. */
async function opened<T extends Document>(stream: ChangeStream<T>): Promise<ChangeStream<T>> {
  expect(await stream.tryNext()).toBeNull();
  return stream;
}

async function expectServerError(run: () => Promise<unknown>, code: number, codeName: string): Promise<void> {
  const err = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MongoServerError);
  expect((err as MongoServerError).code).toBe(code);
  expect((err as MongoServerError).codeName).toBe(codeName);
}

describe('change streams', () => {
  const { client, db } = useTestDatabase('changes');
  const other = useTestClient();
  let items: Collection<Item>;
  let stream: ChangeStream<Item> | undefined;

  beforeEach(async () => {
    await stream?.close();
    stream = undefined;
    const name = `items_${Math.random().toString(36).slice(2, 8)}`;
    await db.createCollection(name);
    items = db.collection<Item>(name);
  });

  it('reports insert, update, replace and delete events with ordered resume tokens', async () => {
    stream = await opened(items.watch([], { maxAwaitTimeMS: 200 }));
    await items.insertOne({ _id: 1, v: 1, tags: ['a', 'b', 'c'], gone: true });
    await items.updateOne({ _id: 1 }, { $set: { v: 2, w: 5 }, $unset: { gone: '' }, $pop: { tags: 1 } });
    await items.replaceOne({ _id: 1 }, { v: 3 });
    await items.deleteOne({ _id: 1 });
    const events = await take(stream, 4);
    const ns = { db: db.databaseName, coll: items.collectionName };
    expect(events.map(stable)).toEqual([
      {
        operationType: 'insert',
        fullDocument: { _id: 1, v: 1, tags: ['a', 'b', 'c'], gone: true },
        ns,
        documentKey: { _id: 1 },
      },
      {
        operationType: 'update',
        ns,
        documentKey: { _id: 1 },
        updateDescription: {
          updatedFields: { v: 2, w: 5 },
          removedFields: ['gone'],
          truncatedArrays: [{ field: 'tags', newSize: 2 }],
        },
      },
      { operationType: 'replace', fullDocument: { _id: 1, v: 3 }, ns, documentKey: { _id: 1 } },
      { operationType: 'delete', ns, documentKey: { _id: 1 } },
    ]);
    const tokens = events.map((e) => (e._id as { _data: string })._data);
    expect([...tokens].sort()).toEqual(tokens);
    expect(new Set(tokens).size).toBe(4);
  });

  it('adds the current document to updates with fullDocument updateLookup', async () => {
    stream = await opened(items.watch([], { fullDocument: 'updateLookup', maxAwaitTimeMS: 200 }));
    await items.insertOne({ _id: 1, v: 1 });
    await items.updateOne({ _id: 1 }, { $inc: { v: 1 } });
    const [, update] = await take(stream, 2);
    expect(update).toMatchObject({ operationType: 'update', fullDocument: { _id: 1, v: 2 } });
  });

  it('shows the events of a transaction only after it commits, all at its commit time', async () => {
    stream = await opened(items.watch([], { maxAwaitTimeMS: 100 }));
    const session = client.startSession();
    try {
      session.startTransaction();
      await items.insertOne({ _id: 1 }, { session });
      await items.updateOne({ _id: 1 }, { $set: { v: 1 } }, { session });
      expect(await stream.tryNext()).toBeNull(); // nothing before the commit
      await session.commitTransaction();
      session.startTransaction();
      await items.insertOne({ _id: 2 }, { session });
      await session.abortTransaction();
      await items.insertOne({ _id: 3 });
    } finally {
      await session.endSession();
    }
    const events = await take(stream, 3);
    expect(events.map((e) => [e.operationType, (e as { documentKey: { _id: number } }).documentKey._id])).toEqual([
      ['insert', 1],
      ['update', 1],
      ['insert', 3],
    ]);
    const [insert, update, after] = events as Document[];
    expect(insert?.clusterTime).toEqual(update?.clusterTime);
    expect(insert?.txnNumber).toEqual(expect.any(Number)); // a long, promoted by the driver
    expect(update?.txnNumber).toEqual(insert?.txnNumber);
    expect(insert?.lsid.id.toString('hex')).toBe(session.id?.id.toString('hex'));
    expect(after?.lsid).toBeUndefined();
    expect(after?.txnNumber).toBeUndefined();
  });

  it('resumes after a token, starts after a token and starts at an operation time', async () => {
    await items.insertOne({ _id: 0 }); // before the stream opens: no resume point below reaches it
    stream = await opened(items.watch([], { maxAwaitTimeMS: 100 }));
    await items.insertMany([{ _id: 1 }, { _id: 2 }, { _id: 3 }]);
    const [one, two] = await take(stream, 2);
    await stream.close();
    const ids = (s: ChangeStreamDocument<Item>[]): unknown[] =>
      s.map((e) => (e as { documentKey: { _id: number } }).documentKey._id);

    stream = items.watch([], { resumeAfter: one?._id, maxAwaitTimeMS: 100 });
    expect(ids(await take(stream, 2))).toEqual([2, 3]);
    await stream.close();

    stream = items.watch([], { startAfter: two?._id, maxAwaitTimeMS: 100 });
    expect(ids(await take(stream, 1))).toEqual([3]);
    await stream.close();

    stream = items.watch([], { startAtOperationTime: one?.clusterTime, maxAwaitTimeMS: 100 });
    expect(ids(await take(stream, 3))).toEqual([1, 2, 3]);
  });

  it('runs the stages after $changeStream on every event', async () => {
    stream = await opened(
      items.watch([{ $match: { 'fullDocument.v': { $gte: 10 } } }, { $project: { fullDocument: 1 } }], {
        maxAwaitTimeMS: 100,
      }),
    );
    await items.insertMany([
      { _id: 1, v: 1 },
      { _id: 2, v: 20 },
      { _id: 3, v: 30 },
    ]);
    const events = (await take(stream, 2)) as Document[];
    expect(events.map(({ _id, ...rest }) => rest)).toEqual([
      { fullDocument: { _id: 2, v: 20 } },
      { fullDocument: { _id: 3, v: 30 } },
    ]);
  });

  it('watches every collection of a database and ends a collection stream with drop and invalidate', async () => {
    const dbStream = await opened(db.watch<Item>([], { maxAwaitTimeMS: 100 }));
    stream = await opened(items.watch([], { maxAwaitTimeMS: 100 }));
    const sibling = db.collection<Item>(`${items.collectionName}_2`);
    try {
      await sibling.insertOne({ _id: 7 });
      await items.insertOne({ _id: 8 });
      await items.drop();
      const events = await take(stream, 3);
      expect(events.map((e) => e.operationType)).toEqual(['insert', 'drop', 'invalidate']);
      expect(stream.closed).toBe(true); // the server closed the cursor with the invalidate (cursor id 0)
      const seen = await take(dbStream as ChangeStream<Item>, 3);
      expect(seen.map((e) => [e.operationType, (e as { ns: { coll: string } }).ns.coll])).toEqual([
        ['insert', sibling.collectionName],
        ['insert', items.collectionName],
        ['drop', items.collectionName],
      ]);
    } finally {
      await dbStream.close();
    }
  });

  it('returns a postBatchResumeToken with every batch, and getMore waits for new events', async () => {
    const opened = await db.command({
      aggregate: items.collectionName,
      pipeline: [{ $changeStream: {} }],
      cursor: {},
    });
    expect(opened.cursor.firstBatch).toEqual([]);
    expect(typeof opened.cursor.postBatchResumeToken._data).toBe('string');
    const id = opened.cursor.id;
    const pending = db.command({ getMore: id, collection: items.collectionName, maxTimeMS: 20_000 });
    setTimeout(() => void other.db(db.databaseName).collection<Item>(items.collectionName).insertOne({ _id: 5 }), 300);
    const more = await pending;
    expect(more.cursor.nextBatch).toHaveLength(1);
    expect(more.cursor.nextBatch[0].fullDocument).toEqual({ _id: 5 });
    expect(more.cursor.postBatchResumeToken._data > opened.cursor.postBatchResumeToken._data).toBe(true);
    await db.command({ killCursors: items.collectionName, cursors: [id] });
  });

  it('hands out one event per getMore with batchSize 1, the invalidate last, then closes the cursor', async () => {
    const opened = await db.command({
      aggregate: items.collectionName,
      pipeline: [{ $changeStream: {} }],
      cursor: { batchSize: 0 },
    });
    await items.insertMany([{ _id: 1 }, { _id: 2 }]);
    await items.drop();
    const seen: string[] = [];
    let id = opened.cursor.id;
    while (Number(id) !== 0 && seen.length < 10) {
      const more = await db.command({ getMore: id, collection: items.collectionName, batchSize: 1, maxTimeMS: 500 });
      expect(more.cursor.nextBatch).toHaveLength(1);
      expect(more.cursor.postBatchResumeToken).toEqual(more.cursor.nextBatch[0]._id);
      seen.push(more.cursor.nextBatch[0].operationType);
      id = more.cursor.id;
    }
    expect(seen).toEqual(['insert', 'insert', 'drop', 'invalidate']);
  });

  it('refuses $changeStream anywhere but first (40602) and stages a change stream forbids (20)', async () => {
    await expectServerError(
      () => items.aggregate([{ $match: {} }, { $changeStream: {} }]).toArray(),
      40602,
      'Location40602',
    );
    await expectServerError(
      () =>
        db.command({
          aggregate: items.collectionName,
          pipeline: [{ $changeStream: {} }, { $group: { _id: 1 } }],
          cursor: {},
        }),
      20,
      'IllegalOperation',
    );
  });

  it('fails the stream (280) when its pipeline changes the resume token _id', async () => {
    stream = await opened(items.watch([{ $project: { _id: 0, operationType: 1 } }], { maxAwaitTimeMS: 100 }));
    await items.insertOne({ _id: 1 });
    const current = stream;
    await expectServerError(() => current.next(), 280, 'ChangeStreamFatalError');
  });

  it('refuses a change stream inside a transaction (263)', async () => {
    const session = client.startSession();
    try {
      session.startTransaction();
      await items.insertOne({ _id: 1 }, { session });
      await expectServerError(
        () =>
          db.command({ aggregate: items.collectionName, pipeline: [{ $changeStream: {} }], cursor: {} }, { session }),
        263,
        'OperationNotSupportedInTransaction',
      );
      await session.abortTransaction().catch(() => undefined);
    } finally {
      await session.endSession();
    }
  });

  it('refuses resumeAfter from an invalidate (260) and a pre-image that was never recorded (47)', async () => {
    stream = await opened(items.watch([], { maxAwaitTimeMS: 100 }));
    await items.insertOne({ _id: 1 });
    await items.drop();
    const [, , invalidate] = await take(stream, 3);
    await expectServerError(
      () =>
        db.command({
          aggregate: items.collectionName,
          pipeline: [{ $changeStream: { resumeAfter: invalidate?._id } }],
          cursor: {},
        }),
      260,
      'InvalidResumeToken',
    );
    await db.createCollection(items.collectionName);
    const strict = await opened(items.watch([], { fullDocumentBeforeChange: 'required', maxAwaitTimeMS: 100 }));
    try {
      await items.insertOne({ _id: 2 });
      expect((await strict.next()).operationType).toBe('insert');
      await items.deleteOne({ _id: 2 });
      await expectServerError(() => strict.next(), 47, 'NoMatchingDocument');
    } finally {
      await strict.close();
    }
  });

  it('gives pre- and post-images as of each change on a collection with changeStreamPreAndPostImages', async () => {
    const name = `${items.collectionName}_images`;
    await db.createCollection(name, { changeStreamPreAndPostImages: { enabled: true } });
    const images = db.collection<Item>(name);
    const [listed] = await db.listCollections({ name }, { nameOnly: false }).toArray();
    expect(listed?.options).toEqual({ changeStreamPreAndPostImages: { enabled: true } });
    stream = await opened(
      images.watch([], { fullDocument: 'required', fullDocumentBeforeChange: 'required', maxAwaitTimeMS: 100 }),
    );
    await images.insertOne({ _id: 1, v: 1 });
    await images.updateOne({ _id: 1 }, { $set: { v: 2 } });
    await images.replaceOne({ _id: 1 }, { v: 3 });
    await images.deleteOne({ _id: 1 });
    const events = (await take(stream, 4)) as Document[];
    expect(events.map((e) => [e.operationType, e.fullDocument, e.fullDocumentBeforeChange])).toEqual([
      ['insert', { _id: 1, v: 1 }, undefined],
      ['update', { _id: 1, v: 2 }, { _id: 1, v: 1 }], // the post-image of that update, not today's document
      ['replace', { _id: 1, v: 3 }, { _id: 1, v: 2 }],
      ['delete', undefined, { _id: 1, v: 3 }],
    ]);
  });

  it('turns pre- and post-images on with collMod and validates the option like mongod', async () => {
    await db.command({ collMod: items.collectionName, changeStreamPreAndPostImages: { enabled: true } });
    const [listed] = await db.listCollections({ name: items.collectionName }, { nameOnly: false }).toArray();
    expect(listed?.options).toEqual({ changeStreamPreAndPostImages: { enabled: true } });
    stream = await opened(items.watch([], { fullDocumentBeforeChange: 'whenAvailable', maxAwaitTimeMS: 100 }));
    await items.insertOne({ _id: 1, v: 1 });
    await items.deleteOne({ _id: 1 });
    const [, deleted] = (await take(stream, 2)) as Document[];
    expect(deleted?.fullDocumentBeforeChange).toEqual({ _id: 1, v: 1 });
    const collMod = (option: unknown) => () =>
      db.command({ collMod: items.collectionName, changeStreamPreAndPostImages: option });
    await expectServerError(collMod({ enabled: true, extra: 1 }), 40415, 'Location40415');
    await expectServerError(collMod({}), 40414, 'Location40414');
    await expectServerError(collMod({ enabled: 'yes' }), 14, 'TypeMismatch');
  });
});

describe.runIf(isEmbeddedMongo())('change stream history (embedded server with a small log)', () => {
  it('gives ChangeStreamHistoryLost (286) for a resume point the log no longer holds', async () => {
    await withServer(
      undefined,
      async (client) => {
        const coll = client.db('history').collection<Item>('items');
        const stream = await opened(coll.watch([], { maxAwaitTimeMS: 100 }));
        await coll.insertOne({ _id: 1 });
        const first = await stream.next();
        await stream.close();
        const resume = { aggregate: 'items', pipeline: [{ $changeStream: { resumeAfter: first._id } }], cursor: {} };
        await coll.insertMany([{ _id: 2 }, { _id: 3 }]);
        const kept = await client.db('history').command(resume); // 3 changes kept: the token's is still there
        expect(kept.cursor.firstBatch).toHaveLength(2);
        await coll.insertOne({ _id: 4 });
        await expectServerError(() => client.db('history').command(resume), 286, 'ChangeStreamHistoryLost');
      },
      { changeStreamHistory: 3 },
    );
  });

  it("keeps a collection's changeStreamPreAndPostImages set by collMod across a restart (journaled)", async () => {
    await acrossRestart(
      async (client) => {
        await client.db('persist').createCollection('items');
        await client.db('persist').command({ collMod: 'items', changeStreamPreAndPostImages: { enabled: true } });
      },
      async (client) => {
        const [listed] = await client.db('persist').listCollections({ name: 'items' }, { nameOnly: false }).toArray();
        expect(listed?.options).toEqual({ changeStreamPreAndPostImages: { enabled: true } });
      },
    );
  });
});
