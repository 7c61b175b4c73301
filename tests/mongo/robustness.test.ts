import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedMongo } from '#dev/mongo/index';
import { connectTestClient, isEmbeddedMongo, testMongoUri, uniqueDbName } from '../support/mongo.ts';

/** host and port of the suite's server, from its URI. */
function serverAddress(): { host: string; port: number } {
  const url = new URL(testMongoUri().replace(/^mongodb:\/\/([^@/]*@)?/, 'http://'));
  return { host: url.hostname, port: Number(url.port || 27017) };
}

/** Sends raw bytes and resolves when the server closes the socket (or after a timeout). */
function sendRaw(bytes: Buffer, timeoutMs = 3000): Promise<'closed' | 'timeout'> {
  const { host, port } = serverAddress();
  return new Promise((resolve) => {
    const socket: Socket = connect(port, host, () => socket.write(bytes));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('timeout');
    }, timeoutMs);
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
  });
}

describe('bad input on one connection', () => {
  let client: MongoClient;
  const dbName = uniqueDbName('robust');

  beforeAll(async () => {
    client = await connectTestClient();
    await client.db(dbName).collection<{ _id: number; kept: boolean }>('c').insertOne({ _id: 1, kept: true });
  });
  afterAll(async () => {
    await client.db(dbName).dropDatabase();
    await client.close();
  });

  const header = (length: number, opCode: number): Buffer => {
    const h = Buffer.alloc(16);
    h.writeInt32LE(length, 0);
    h.writeInt32LE(1, 4);
    h.writeInt32LE(0, 8);
    h.writeInt32LE(opCode, 12);
    return h;
  };

  const cases: Array<[string, Buffer]> = [
    ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n')],
    ['a length prefix above maxMessageSizeBytes', header(48_000_001, 2013)],
    ['a length prefix below 16', header(8, 2013)],
    ['an unknown opcode', Buffer.concat([header(20, 9999), Buffer.alloc(4)])],
    [
      'garbage inside an OP_MSG',
      Buffer.concat([header(30, 2013), Buffer.from([0, 0, 0, 0, 0, 9, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff])]),
    ],
  ];

  for (const [label, bytes] of cases) {
    it(`closes the connection on ${label} and keeps serving others`, async () => {
      const outcome = await sendRaw(bytes);
      if (isEmbeddedMongo()) expect(outcome).toBe('closed');
      else expect(['closed', 'timeout']).toContain(outcome); // real mongod may wait for more bytes
      expect(await client.db(dbName).collection<{ _id: number }>('c').findOne({ _id: 1 })).toEqual({
        _id: 1,
        kept: true,
      });
    });
  }
});

describe('persistence with dbPath', () => {
  it('keeps committed data, indexes and collections across stop and start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'embedded-mongo-'));
    const quiet = () => {};
    try {
      const first = await startEmbeddedMongo({ port: 0, dbPath: dir, log: quiet });
      const c1 = new MongoClient(first.uri);
      try {
        const coll = c1.db('persist').collection<{ _id?: number; code: string; at?: Date }>('things');
        await coll.createIndex({ code: 1 }, { unique: true });
        await coll.insertMany([
          { _id: 1, code: 'a', at: new Date(0) },
          { _id: 2, code: 'b' },
          { _id: 3, code: 'c' },
        ]);
        await coll.updateOne({ _id: 2 }, { $set: { code: 'B' } });
        await coll.deleteOne({ _id: 3 });
        const session = c1.startSession();
        await session.withTransaction(async () => {
          await coll.insertOne({ _id: 4, code: 'd' }, { session });
        });
        await session.endSession();
        const aborted = c1.startSession();
        aborted.startTransaction();
        await coll.insertOne({ _id: 5, code: 'e' }, { session: aborted });
        await aborted.abortTransaction();
        await aborted.endSession();
        await c1.db('persist').createCollection('empty');
      } finally {
        await c1.close();
        await first.stop();
      }

      const second = await startEmbeddedMongo({ port: 0, dbPath: dir, log: quiet });
      const c2 = new MongoClient(second.uri);
      try {
        const coll = c2.db('persist').collection<{ _id?: number; code: string; at?: Date }>('things');
        expect(await coll.find().sort({ _id: 1 }).toArray()).toEqual([
          { _id: 1, code: 'a', at: new Date(0) },
          { _id: 2, code: 'B' },
          { _id: 4, code: 'd' },
        ]);
        expect((await coll.listIndexes().toArray()).map((i) => i.name)).toEqual(['_id_', 'code_1']);
        const dup = await coll.insertOne({ code: 'a' }).catch((e: { code?: number }) => e);
        expect((dup as { code?: number }).code).toBe(11000);
        const names = (await c2.db('persist').listCollections().toArray()).map((c) => c.name).sort();
        expect(names).toEqual(['empty', 'things']);
      } finally {
        await c2.close();
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
