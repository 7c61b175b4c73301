import { type MongoClient, MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { connectTestClient, useTestDatabase } from '../support/mongo.ts';

describe('handshake and admin commands', () => {
  const { client, db } = useTestDatabase('hs');
  const dbName = db.databaseName;

  it('answers hello as a replica set primary with sessions', async () => {
    const hello = await client.db('admin').command({ hello: 1 });
    expect(hello.ok).toBe(1);
    expect(hello.isWritablePrimary).toBe(true);
    expect(typeof hello.setName).toBe('string');
    expect(hello.logicalSessionTimeoutMinutes).toBeGreaterThan(0);
    expect(hello.maxWireVersion).toBeGreaterThanOrEqual(9);
  });

  it('answers ping and buildInfo', async () => {
    expect((await client.db(dbName).command({ ping: 1 })).ok).toBe(1);
    const info = await client.db('admin').command({ buildInfo: 1 });
    expect(info.version).toMatch(/^\d+\.\d+/);
  });

  it('rejects an unknown command with CommandNotFound (59)', async () => {
    const err = await client
      .db(dbName)
      .command({ noSuchCommandHere: 1 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoServerError);
    expect((err as MongoServerError).code).toBe(59);
    expect((err as MongoServerError).codeName).toBe('CommandNotFound');
    expect((err as MongoServerError).message).toContain("no such command: 'noSuchCommandHere'");
  });

  it('serves several clients concurrently', async () => {
    const others = await Promise.all([connectTestClient(), connectTestClient(), connectTestClient()]);
    try {
      const coll = (c: MongoClient) => c.db(dbName).collection<{ client: number; i: number }>('concurrent');
      await Promise.all(
        others.map((c, clientIndex) =>
          Promise.all(Array.from({ length: 20 }, (_, i) => coll(c).insertOne({ client: clientIndex, i }))),
        ),
      );
      const counts = await Promise.all(others.map((c, clientIndex) => coll(c).countDocuments({ client: clientIndex })));
      expect(counts).toEqual([20, 20, 20]);
      expect(await coll(client).countDocuments({})).toBe(60);
    } finally {
      await Promise.all(others.map((c) => c.close()));
    }
  });
});
