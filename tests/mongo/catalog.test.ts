import { type MongoBulkWriteError, MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { uniqueDbName, useTestDatabase } from '../support/mongo.ts';

describe('collections, indexes and unique keys', () => {
  const { client, db } = useTestDatabase('cat');

  it('creates, lists and drops collections and databases', async () => {
    await db.createCollection('alpha');
    const exists = await db.createCollection('alpha').catch((e: unknown) => e);
    expect((exists as MongoServerError).code).toBe(48);
    await db.collection('beta').insertOne({ x: 1 });
    const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
    expect(names).toEqual(['alpha', 'beta']);
    expect(await db.listCollections({ name: 'beta' }).toArray()).toHaveLength(1);
    expect(await db.collection('alpha').drop()).toBe(true);
    // The driver maps NamespaceNotFound (26) to false.
    expect(await db.collection('alpha').drop()).toBe(false);
    const raw = await db.command({ drop: 'alpha' }).catch((e: unknown) => e);
    expect((raw as MongoServerError).code).toBe(26);

    const other = client.db(uniqueDbName('cat_other'));
    await other.collection('c').insertOne({ a: 1 });
    const dbs = await client.db('admin').admin().listDatabases();
    expect(dbs.databases.map((d) => d.name)).toContain(other.databaseName);
    await other.dropDatabase();
    const after = await client.db('admin').admin().listDatabases();
    expect(after.databases.map((d) => d.name)).not.toContain(other.databaseName);
  });

  it('creates indexes idempotently, lists and drops them, and rejects conflicts', async () => {
    const coll = db.collection('indexed');
    expect(await coll.createIndex({ email: 1 }, { unique: true })).toBe('email_1');
    expect(await coll.createIndex({ email: 1 }, { unique: true })).toBe('email_1');
    await coll.createIndexes([
      { key: { a: 1, b: -1 } },
      { key: { ttl: 1 }, expireAfterSeconds: 3600 },
      { key: { p: 1 }, partialFilterExpression: { p: { $exists: true } } },
    ]);
    const indexes = await coll.listIndexes().toArray();
    expect(indexes.map((i) => i.name).sort()).toEqual(['_id_', 'a_1_b_-1', 'email_1', 'p_1', 'ttl_1']);
    expect(indexes.find((i) => i.name === 'email_1')).toMatchObject({ key: { email: 1 }, unique: true });
    expect(indexes.find((i) => i.name === 'ttl_1')).toMatchObject({ expireAfterSeconds: 3600 });

    const sameNameOtherKey = await coll.createIndex({ other: 1 }, { name: 'email_1' }).catch((e: unknown) => e);
    expect((sameNameOtherKey as MongoServerError).code).toBe(86);
    const sameKeyOtherOptions = await coll
      .createIndex({ email: 1 }, { unique: false, name: 'email_1' })
      .catch((e: unknown) => e);
    expect([85, 86]).toContain((sameKeyOtherOptions as MongoServerError).code);

    await coll.dropIndex('a_1_b_-1');
    const missing = await coll.dropIndex('a_1_b_-1').catch((e: unknown) => e);
    expect((missing as MongoServerError).code).toBe(27);
    const idIndex = await coll.dropIndex('_id_').catch((e: unknown) => e);
    expect((idIndex as MongoServerError).code).toBe(72);
    await coll.dropIndexes();
    expect((await coll.listIndexes().toArray()).map((i) => i.name)).toEqual(['_id_']);
    const noColl = await db
      .collection('nope')
      .listIndexes()
      .toArray()
      .catch((e: unknown) => e);
    expect((noColl as MongoServerError).code).toBe(26);
  });

  it('reports duplicate keys like mongod on insert, update, upsert and insertMany', async () => {
    const coll = db.collection<{ _id?: number; tenant?: string; email?: string; n?: number }>('users');
    await coll.createIndex({ tenant: 1, email: 1 }, { unique: true, name: 'tenant_email' });
    await coll.insertOne({ _id: 1, tenant: 't', email: 'a@x' });
    await coll.insertOne({ _id: 2, tenant: 't', email: 'b@x' });

    const ins = (await coll.insertOne({ tenant: 't', email: 'a@x' }).catch((e: unknown) => e)) as MongoServerError;
    expect(ins).toBeInstanceOf(MongoServerError);
    expect(ins.code).toBe(11000);
    expect(ins.keyPattern).toEqual({ tenant: 1, email: 1 });
    expect(ins.keyValue).toEqual({ tenant: 't', email: 'a@x' });
    expect(ins.message).toMatch(
      /^E11000 duplicate key error collection: \S+\.users index: tenant_email dup key: \{ tenant: "t", email: "a@x" \}$/,
    );

    const upd = (await coll
      .updateOne({ _id: 2 }, { $set: { email: 'a@x' } })
      .catch((e: unknown) => e)) as MongoServerError;
    expect(upd.code).toBe(11000);
    expect(upd.keyValue).toEqual({ tenant: 't', email: 'a@x' });

    const ups = (await coll
      .updateOne({ _id: 3 }, { $set: { tenant: 't', email: 'b@x' } }, { upsert: true })
      .catch((e: unknown) => e)) as MongoServerError;
    expect(ups.code).toBe(11000);
    expect(ups.keyPattern).toEqual({ tenant: 1, email: 1 });

    const id = (await coll.insertOne({ _id: 1 }).catch((e: unknown) => e)) as MongoServerError;
    expect(id.code).toBe(11000);
    expect(id.keyPattern).toEqual({ _id: 1 });
    expect(id.keyValue).toEqual({ _id: 1 });
    expect(id.message).toContain('index: _id_ dup key: { _id: 1 }');

    const bulk = (await coll
      .insertMany([
        { _id: 10, tenant: 'u', email: 'c' },
        { _id: 11, tenant: 't', email: 'a@x' },
        { _id: 12, tenant: 'u', email: 'd' },
      ])
      .catch((e: unknown) => e)) as MongoBulkWriteError;
    expect(bulk.code).toBe(11000);
    expect(bulk.insertedCount).toBe(1); // ordered: stops at the first error
    expect(bulk.writeErrors).toBeDefined();

    const fam = (await coll
      .findOneAndUpdate({ _id: 2 }, { $set: { email: 'a@x' } })
      .catch((e: unknown) => e)) as MongoServerError;
    expect(fam.code).toBe(11000);
    expect(await coll.countDocuments({ tenant: 't' })).toBe(2);
  });

  it('refuses a unique index over existing duplicates', async () => {
    const coll = db.collection('dups');
    await coll.insertMany([{ k: 1 }, { k: 1 }]);
    const err = (await coll.createIndex({ k: 1 }, { unique: true }).catch((e: unknown) => e)) as MongoServerError;
    expect(err.code).toBe(11000);
    expect((await coll.listIndexes().toArray()).map((i) => i.name)).toEqual(['_id_']);
  });

  it('treats missing fields as null in a unique index, unless sparse', async () => {
    const coll = db.collection('nulls');
    await coll.createIndex({ code: 1 }, { unique: true });
    await coll.insertOne({ a: 1 });
    const err = (await coll.insertOne({ a: 2 }).catch((e: unknown) => e)) as MongoServerError;
    expect(err.code).toBe(11000);
    expect(err.keyValue).toEqual({ code: null });
    const sparse = db.collection('sparse');
    await sparse.createIndex({ code: 1 }, { unique: true, sparse: true });
    await sparse.insertMany([{ a: 1 }, { a: 2 }]);
    expect(await sparse.countDocuments()).toBe(2);
  });
});
