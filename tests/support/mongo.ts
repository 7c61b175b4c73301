import { randomBytes } from 'node:crypto';
import { type Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, inject } from 'vitest';

/** The URI of the MongoDB the suite runs against: embedded, or MONGODB_URI. */
export function testMongoUri(): string {
  return inject('mongoUri');
}

/** Whether the suite runs against the embedded server (some checks only make sense there). */
export function isEmbeddedMongo(): boolean {
  return inject('embeddedMongo');
}

/** A database name no other test file uses, so files can run in parallel on one server. */
export function uniqueDbName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`.slice(0, 38);
}

/** A driver client for the suite's server, not connected yet. */
function newTestClient(): MongoClient {
  return new MongoClient(testMongoUri(), { serverSelectionTimeoutMS: 5_000 });
}

/** Connects a driver client to the suite's server. The caller closes it. */
export async function connectTestClient(): Promise<MongoClient> {
  const client = newTestClient();
  await client.connect();
  return client;
}

/** Connects `client` before the block's tests; after them runs `cleanUp` (if any), then closes it. */
function connectForBlock(client: MongoClient, cleanUp?: () => Promise<unknown>): void {
  beforeAll(async () => {
    await client.connect();
  });
  afterAll(async () => {
    try {
      await cleanUp?.();
    } finally {
      await client.close();
    }
  });
}

/**
 * A driver client for the tests of the calling file or `describe` block: connected before them and
 * closed after them. Call it in the block's body (not inside a test).
 */
export function useTestClient(): MongoClient {
  const client = newTestClient();
  connectForBlock(client);
  return client;
}

/**
 * The usual setup of a tests/mongo file or block: a client (as {@link useTestClient}) and a database
 * of its own (named by {@link uniqueDbName}, so files run in parallel on one server), dropped after
 * the block's tests, then the client closes. With Vitest's default hook order, hooks the caller
 * registers after this call run after the connection and before the drop.
 */
export function useTestDatabase(prefix: string): { client: MongoClient; db: Db } {
  const client = newTestClient();
  const db = client.db(uniqueDbName(prefix));
  connectForBlock(client, () => db.dropDatabase());
  return { client, db };
}
