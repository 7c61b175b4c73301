import type { ClientSession } from 'mongodb';
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
  /**
   * What the request's change returned, written in the change's own transaction
   * (`recordCommit`): present exactly when the change committed, even if the answer was never
   * stored (the function died or answered the deadline's 503 first).
   */
  committed?: { result: unknown; at: Date };
  response?: StoredResponse;
}

/** A claim this request now holds: it alone may commit the change or give the key back. */
export interface KeyClaim {
  id: string;
  /** The lease this request set; every later write of the claim is conditional on it. */
  leaseExpiresAt: Date;
}

/**
 * Raised inside a change's transaction when its request no longer holds the key (a retry took
 * it over after the lease ran out): the transaction aborts, so one key never commits twice.
 */
export class IdempotencyClaimLostError extends Error {
  constructor(id: string) {
    super(`The claim on idempotency key ${id} was taken over before the change committed`);
    this.name = 'IdempotencyClaimLostError';
  }
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
 * Claims a key for a request. Returns the claim when this request now owns the key (it must
 * then commit its change with `recordCommit`, store its answer with `completeKey`, or give the
 * key back with `releaseKey`), otherwise the record already stored. A claim with neither a
 * committed change nor a response whose lease has run out is taken over by a retry with the
 * same body.
 */
export async function claimKey(
  id: string,
  requestHash: string,
  now: Date,
): Promise<{ claim: KeyClaim } | { record: IdempotencyRecord }> {
  const collection = await keys();
  const leaseExpiresAt = new Date(now.getTime() + CLAIM_LEASE_MS);
  try {
    await collection.insertOne({ _id: id, requestHash, createdAt: now, leaseExpiresAt });
    return { claim: { id, leaseExpiresAt } };
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
  }
  const existing = await collection.findOne({ _id: id });
  // Expired and removed between the insert and the read: claim it afresh.
  if (!existing) return claimKey(id, requestHash, now);
  const abandoned =
    !existing.response && !existing.committed && existing.requestHash === requestHash && existing.leaseExpiresAt <= now;
  if (!abandoned) return { record: existing };
  // Only one retry wins the takeover: the filter matches the lease it saw, not a renewed one,
  // and never a key whose change committed meanwhile.
  const takenOver = await collection.updateOne(
    {
      _id: id,
      response: { $exists: false },
      committed: { $exists: false },
      leaseExpiresAt: existing.leaseExpiresAt,
    },
    { $set: { leaseExpiresAt } },
  );
  if (takenOver.modifiedCount === 1) return { claim: { id, leaseExpiresAt } };
  const current = await collection.findOne({ _id: id });
  return current ? { record: current } : claimKey(id, requestHash, now);
}

/**
 * Inside the change's transaction, just before it commits: records what the change returned on
 * the key, so that the change and the key's outcome commit together or not at all. Throws
 * IdempotencyClaimLostError (the transaction aborts) when the claim is no longer this request's.
 */
export async function recordCommit(claim: KeyClaim, result: unknown, session: ClientSession): Promise<void> {
  const { matchedCount } = await (await keys()).updateOne(
    { _id: claim.id, leaseExpiresAt: claim.leaseExpiresAt, committed: { $exists: false } },
    { $set: { committed: { result, at: new Date() } } },
    { session },
  );
  if (matchedCount !== 1) throw new IdempotencyClaimLostError(claim.id);
}

/**
 * Stores the answer for a key: the claiming request's own (conditional on its lease), or one
 * rendered again from a committed change by a retry (when no answer is stored yet).
 */
export async function completeKey(owner: KeyClaim | { id: string }, response: StoredResponse): Promise<void> {
  const filter =
    'leaseExpiresAt' in owner
      ? { _id: owner.id, leaseExpiresAt: owner.leaseExpiresAt }
      : { _id: owner.id, committed: { $exists: true }, response: { $exists: false } };
  await (await keys()).updateOne(filter, { $set: { response } });
}

/**
 * Forgets a claim whose request failed on our side, so that a retry can run it again; never a
 * key whose change committed (its outcome was unknown to the request: a retry replays it).
 */
export async function releaseKey(claim: KeyClaim): Promise<void> {
  await (await keys()).deleteOne({
    _id: claim.id,
    leaseExpiresAt: claim.leaseExpiresAt,
    committed: { $exists: false },
    response: { $exists: false },
  });
}
