import { database } from './client.ts';
import { isDuplicateKeyError } from './errors.ts';
import { collections } from './indexes.ts';

/** A response kept so that a retried request gets it again. */
export interface StoredResponse {
  statusCode: number;
  headers: Record<string, string>;
  body?: string;
}

/** One Idempotency-Key as stored; `createdAt` drives the TTL index (IDEMPOTENCY_TTL_SECONDS). */
export interface IdempotencyRecord {
  _id: string;
  requestHash: string;
  createdAt: Date;
  response?: StoredResponse;
}

async function keys() {
  return (await database()).collection<IdempotencyRecord>(collections.idempotencyKeys);
}

/**
 * Claims a key for a request. Returns undefined when this request is the first with the key
 * (it must then `completeKey` or `releaseKey`), otherwise the record already stored.
 */
export async function claimKey(id: string, requestHash: string, now: Date): Promise<IdempotencyRecord | undefined> {
  const collection = await keys();
  try {
    await collection.insertOne({ _id: id, requestHash, createdAt: now });
    return undefined;
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
  }
  const existing = await collection.findOne({ _id: id });
  // Expired and removed between the insert and the read: claim it afresh.
  return existing ?? claimKey(id, requestHash, now);
}

/** The record for a key, to poll while the first request is still running. */
export async function findKey(id: string): Promise<IdempotencyRecord | null> {
  return (await keys()).findOne({ _id: id });
}

/** Stores the response of the request that claimed the key. */
export async function completeKey(id: string, response: StoredResponse): Promise<void> {
  await (await keys()).updateOne({ _id: id }, { $set: { response } });
}

/** Forgets a claim whose request failed on our side, so that a retry can run it again. */
export async function releaseKey(id: string): Promise<void> {
  await (await keys()).deleteOne({ _id: id, response: { $exists: false } });
}
