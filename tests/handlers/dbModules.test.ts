/**
 * lib/db's modules called directly against the suite's MongoDB: the idempotency key store's
 * claims, takeovers and conditional writes, the transaction helper's budget and commit scope,
 * the TTL index, and duplicate-key detection. The handler tests reach these through requests;
 * these pin each rule where it is written.
 */
import { type CommandStartedEvent, MongoClient, MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { resetConfig } from '#lib/config';
import { closeConnection, connection, database } from '#lib/db/client';
import { commitScope, withCommitScope } from '#lib/db/commitScope';
import { isDuplicateKeyError } from '#lib/db/errors';
import {
  CLAIM_LEASE_MS,
  claimKey,
  completeKey,
  IdempotencyClaimLostError,
  type IdempotencyRecord,
  recordCommit,
  releaseKey,
} from '#lib/db/idempotencyRepository';
import { collections, ensureIndexes, IDEMPOTENCY_TTL_SECONDS } from '#lib/db/indexes';
import { inTransaction, TransactionBudgetExceededError } from '#lib/db/transactions';
import { useApiDatabase } from '../support/api.ts';
import { testMongoUri } from '../support/mongo.ts';

useApiDatabase('db_modules');

let counter = 0;
const newKey = (): string => `key-${Date.now()}-${counter++}`;
const keys = async () => (await database()).collection<IdempotencyRecord>(collections.idempotencyKeys);
const at = (ms: number): Date => new Date(Date.UTC(2030, 0, 1) + ms);

describe('idempotency keys: claims', () => {
  it('the first request claims a key with a lease of CLAIM_LEASE_MS; a second gets the stored record', async () => {
    const id = newKey();
    const first = await claimKey(id, 'hash-a', at(0));
    expect(first).toEqual({ claim: { id, leaseExpiresAt: at(CLAIM_LEASE_MS) } });
    const second = await claimKey(id, 'hash-a', at(1000));
    expect(second).toEqual({
      record: { _id: id, requestHash: 'hash-a', createdAt: at(0), leaseExpiresAt: at(CLAIM_LEASE_MS) },
    });
  });

  it('a retry with the same body takes over a claim whose lease ran out, from exactly its expiry', async () => {
    const id = newKey();
    await claimKey(id, 'hash-a', at(0));
    expect(await claimKey(id, 'hash-a', at(CLAIM_LEASE_MS - 1))).toHaveProperty('record');
    const taken = await claimKey(id, 'hash-a', at(CLAIM_LEASE_MS));
    expect(taken).toEqual({ claim: { id, leaseExpiresAt: at(2 * CLAIM_LEASE_MS) } });
    expect((await (await keys()).findOne({ _id: id }))?.leaseExpiresAt).toEqual(at(2 * CLAIM_LEASE_MS));
  });

  it('never takes over an expired claim for another body, one that committed, or one with an answer', async () => {
    const late = at(10 * CLAIM_LEASE_MS);
    const otherBody = newKey();
    await claimKey(otherBody, 'hash-a', at(0));
    expect(await claimKey(otherBody, 'hash-b', late)).toHaveProperty('record.requestHash', 'hash-a');

    const committed = newKey();
    const claim = await claimKey(committed, 'hash-a', at(0));
    if (!('claim' in claim)) throw new Error('expected a claim');
    const { client } = await connection();
    await inTransaction(client, (session) => recordCommit(claim.claim, { id: 'o-1' }, session));
    expect(await claimKey(committed, 'hash-a', late)).toHaveProperty('record.committed.result', { id: 'o-1' });

    const answered = newKey();
    const claim2 = await claimKey(answered, 'hash-a', at(0));
    if (!('claim' in claim2)) throw new Error('expected a claim');
    await completeKey(claim2.claim, { statusCode: 201, headers: { a: 'b' }, body: '{}' });
    expect(await claimKey(answered, 'hash-a', late)).toHaveProperty('record.response.statusCode', 201);
  });

  it('lets only one of two retries take over an expired claim', async () => {
    const id = newKey();
    await claimKey(id, 'hash-a', at(0));
    const late = at(CLAIM_LEASE_MS + 5);
    const [a, b] = await Promise.all([claimKey(id, 'hash-a', late), claimKey(id, 'hash-a', late)]);
    expect([a, b].filter((r) => 'claim' in r)).toHaveLength(1);
  });
});

describe('idempotency keys: the commit, the answer and the release', () => {
  it('records the committed result inside the transaction, and refuses a claim that lost its lease', async () => {
    const id = newKey();
    const claim = await claimKey(id, 'hash-a', at(0));
    if (!('claim' in claim)) throw new Error('expected a claim');
    const { client } = await connection();
    await inTransaction(client, (session) => recordCommit(claim.claim, { n: 1 }, session));
    const stored = await (await keys()).findOne({ _id: id });
    expect(stored?.committed?.result).toEqual({ n: 1 });
    expect(stored?.committed?.at).toBeInstanceOf(Date);

    // A second commit of the same claim, or one from a stale lease, never overwrites it.
    const again = inTransaction(client, (session) => recordCommit(claim.claim, { n: 2 }, session));
    await expect(again).rejects.toBeInstanceOf(IdempotencyClaimLostError);
    const stale = inTransaction(client, (session) => recordCommit({ id, leaseExpiresAt: at(1) }, { n: 3 }, session));
    const error = await stale.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdempotencyClaimLostError);
    expect((error as Error).name).toBe('IdempotencyClaimLostError');
    expect((error as Error).message).toBe(
      `The claim on idempotency key ${id} was taken over before the change committed`,
    );
    expect((await (await keys()).findOne({ _id: id }))?.committed?.result).toEqual({ n: 1 });
  });

  it('stores a replayed answer only for a committed key without one; the owner stores its own under its lease', async () => {
    const id = newKey();
    const claim = await claimKey(id, 'hash-a', at(0));
    if (!('claim' in claim)) throw new Error('expected a claim');
    // Not committed: a non-owner's answer is not stored.
    await completeKey({ id }, { statusCode: 200, headers: {} });
    expect((await (await keys()).findOne({ _id: id }))?.response).toBeUndefined();
    const { client } = await connection();
    await inTransaction(client, (session) => recordCommit(claim.claim, 'r', session));
    await completeKey({ id }, { statusCode: 201, headers: {} });
    expect((await (await keys()).findOne({ _id: id }))?.response?.statusCode).toBe(201);
    // An answer is never replaced by a later replay.
    await completeKey({ id }, { statusCode: 200, headers: {} });
    expect((await (await keys()).findOne({ _id: id }))?.response?.statusCode).toBe(201);
    // The owner's write is conditional on its lease.
    const other = newKey();
    await claimKey(other, 'hash-a', at(0));
    await completeKey({ id: other, leaseExpiresAt: at(5) }, { statusCode: 500, headers: {} });
    expect((await (await keys()).findOne({ _id: other }))?.response).toBeUndefined();
  });

  it('releases a failed claim for a retry, but never a committed or answered one, nor a lease it lost', async () => {
    const released = newKey();
    const c1 = await claimKey(released, 'hash-a', at(0));
    if (!('claim' in c1)) throw new Error('expected a claim');
    await releaseKey({ id: released, leaseExpiresAt: at(7) });
    expect(await (await keys()).findOne({ _id: released })).not.toBeNull();
    await releaseKey(c1.claim);
    expect(await (await keys()).findOne({ _id: released })).toBeNull();

    const committed = newKey();
    const c2 = await claimKey(committed, 'hash-a', at(0));
    if (!('claim' in c2)) throw new Error('expected a claim');
    const { client } = await connection();
    await inTransaction(client, (session) => recordCommit(c2.claim, 'r', session));
    await releaseKey(c2.claim);
    expect(await (await keys()).findOne({ _id: committed })).not.toBeNull();

    const answered = newKey();
    const c3 = await claimKey(answered, 'hash-a', at(0));
    if (!('claim' in c3)) throw new Error('expected a claim');
    await completeKey(c3.claim, { statusCode: 400, headers: {} });
    await releaseKey(c3.claim);
    expect(await (await keys()).findOne({ _id: answered })).not.toBeNull();
  });
});

describe('transactions', () => {
  it('runs the first attempt even with no budget left, and returns what the work returned', async () => {
    const { client } = await connection();
    let runs = 0;
    expect(
      await inTransaction(
        client,
        async () => {
          runs++;
          return 'done';
        },
        0,
      ),
    ).toBe('done');
    expect(runs).toBe(1);
  });

  it('stops retrying a write conflict once the budget has passed, naming the attempts and the cause', async () => {
    const { client } = await connection();
    let runs = 0;
    const conflict = (): MongoServerError => {
      const error = new MongoServerError({ ok: 0, code: 112, errmsg: 'WriteConflict' });
      error.addErrorLabel('TransientTransactionError');
      return error;
    };
    const error = await inTransaction(
      client,
      async () => {
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 20));
        throw conflict();
      },
      50,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionBudgetExceededError);
    expect((error as TransactionBudgetExceededError).attempts).toBe(runs);
    expect(runs).toBeGreaterThan(1);
    expect((error as Error).message).toBe(`The transaction was still being retried after ${runs} attempts`);
    expect(((error as Error).cause as MongoServerError).code).toBe(112);
  });

  it("in a commit scope, runs beforeCommit with the work's result in the same transaction, and replays a committed result", async () => {
    const { client, db } = await connection();
    const seen: unknown[] = [];
    const coll = db.collection<{ _id: string }>('scope_probe');
    await withCommitScope(async () => {
      const scope = commitScope();
      if (!scope) throw new Error('no scope');
      scope.beforeCommit = async (session, result) => {
        seen.push(result);
        await coll.insertOne({ _id: `after-${String(result)}` }, { session });
      };
      expect(await inTransaction(client, async () => 'first')).toBe('first');
      scope.committed = { result: 'from-before' };
      let ran = false;
      expect(
        await inTransaction(client, async () => {
          ran = true;
          return 'second';
        }),
      ).toBe('from-before');
      expect(ran).toBe(false);
    });
    expect(seen).toEqual(['first']);
    expect(await coll.findOne({ _id: 'after-first' })).not.toBeNull();
    expect(commitScope()).toBeUndefined();
  });
});

describe('transaction options', () => {
  it('reads at snapshot and commits with majority write concern', async () => {
    const client = new MongoClient(testMongoUri(), { monitorCommands: true });
    const started: CommandStartedEvent[] = [];
    client.on('commandStarted', (event) => started.push(event));
    try {
      await client.connect();
      const { db } = await connection();
      await inTransaction(client, (session) =>
        client
          .db(db.databaseName)
          .collection<{ _id: string }>('options_probe')
          .insertOne({ _id: newKey() }, { session }),
      );
    } finally {
      await client.close();
    }
    const insert = started.find((e) => e.commandName === 'insert');
    expect(insert?.command.readConcern).toEqual({ level: 'snapshot' });
    const commit = started.find((e) => e.commandName === 'commitTransaction');
    expect(commit?.command.writeConcern).toMatchObject({ w: 'majority' });
  });
});

describe('indexes and errors', () => {
  it('keeps idempotency keys for a day (a TTL index of 86,400 s on createdAt)', async () => {
    const db = await database();
    await ensureIndexes(db);
    expect(IDEMPOTENCY_TTL_SECONDS).toBe(86_400);
    const ttl = (await db.collection(collections.idempotencyKeys).indexes()).find((i) => i.name === 'created_ttl');
    expect(ttl).toMatchObject({ key: { createdAt: 1 }, expireAfterSeconds: 86_400 });
  });

  it('tells a duplicate key from other server errors', () => {
    expect(isDuplicateKeyError(new MongoServerError({ ok: 0, code: 11000, errmsg: 'E11000' }))).toBe(true);
    expect(isDuplicateKeyError(new MongoServerError({ ok: 0, code: 112, errmsg: 'WriteConflict' }))).toBe(false);
    expect(isDuplicateKeyError(Object.assign(new Error('E11000'), { code: 11000 }))).toBe(false);
  });
});

describe('the shared client', () => {
  it('retries reads and writes and names itself, unless the connection string names the app', async () => {
    const { client } = await connection();
    expect(client.options.retryWrites).toBe(true);
    expect(client.options.retryReads).toBe(true);
    expect(client.options.appName).toBe('order-management-api');
    const uri = process.env.MONGODB_URI as string;
    await closeConnection();
    process.env.MONGODB_URI = `${uri}${uri.includes('?') ? '&' : '?'}appName=fault-suite`;
    resetConfig();
    try {
      const named = await connection();
      expect(named.client.options.appName).toBe('fault-suite');
      expect(named.client).not.toBe(client);
    } finally {
      await closeConnection();
      process.env.MONGODB_URI = uri;
      resetConfig();
    }
  });
});
