import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { inject } from 'vitest';

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

/** Connects a driver client to the suite's server. The caller closes it. */
export async function connectTestClient(): Promise<MongoClient> {
  const client = new MongoClient(testMongoUri(), { serverSelectionTimeoutMS: 5_000 });
  await client.connect();
  return client;
}
