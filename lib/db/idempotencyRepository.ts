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
  /** Until when the request that claimed the key may still be running; see `claimKey`. */
  leaseExpiresAt: Date;
  response?: StoredResponse;
}

/**
 * How long a claim without a response is honoured: longer than a function may run (10 s in
 * serverless.yml, 30 s at most behind API Gateway), so a claim older than this belongs to a
 * request that died (timeout, crash) and a retry may take it over instead of waiting a day.
 */
export const CLAIM_LEASE_MS = 35_000;

async function keys() {
  return (await database()).collection<IdempotencyRecord>(collections.idempotencyKeys);
}

/**
 * Claims a key for a request. Returns undefined when this request now owns the key (it must
 * then `completeKey` or `releaseKey`), otherwise the record already stored. A claim with no
 * response whose lease has run out is taken over by a retry with the same body.
 */
export async function claimKey(id: string, requestHash: string, now: Date): Promise<IdempotencyRecord | undefined> {
  const collection = await keys();
  const leaseExpiresAt = new Date(now.getTime() + CLAIM_LEASE_MS);
  try {
    await collection.insertOne({ _id: id, requestHash, createdAt: now, leaseExpiresAt });
    return undefined;
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
  }
  const existing = await collection.findOne({ _id: id });
  // Expired and removed between the insert and the read: claim it afresh.
  if (!existing) return claimKey(id, requestHash, now);
  const abandoned = !existing.response && existing.requestHash === requestHash && existing.leaseExpiresAt <= now;
  if (!abandoned) return existing;
  // Only one retry wins the takeover: the filter matches the lease it saw, not a renewed one.
  const takenOver = await collection.updateOne(
    { _id: id, response: { $exists: false }, leaseExpiresAt: existing.leaseExpiresAt },
    { $set: { leaseExpiresAt } },
  );
  return takenOver.modifiedCount === 1 ? undefined : ((await collection.findOne({ _id: id })) ?? undefined);
}

/** Stores the response of the request that claimed the key. */
export async function completeKey(id: string, response: StoredResponse): Promise<void> {
  await (await keys()).updateOne({ _id: id }, { $set: { response } });
}

/** Forgets a claim whose request failed on our side, so that a retry can run it again. */
export async function releaseKey(id: string): Promise<void> {
  await (await keys()).deleteOne({ _id: id, response: { $exists: false } });
}
