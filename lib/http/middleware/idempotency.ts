import { createHash } from 'node:crypto';
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { commitScope } from '#lib/db/commitScope';
import {
  claimKey,
  completeKey,
  IdempotencyClaimLostError,
  type IdempotencyRecord,
  type KeyClaim,
  recordCommit,
  releaseKey,
  type StoredResponse,
} from '#lib/db/idempotencyRepository';
import { problemFor } from '../errorMapping.ts';
import { IDEMPOTENCY_KEY_PATTERN } from '../headerPatterns.ts';
import { PROBLEMS, problemOf, problemResponse } from '../problems.ts';
import { logger } from '../requestLog.ts';
import { callerOf } from './authorize.ts';

const KEY_PATTERN = new RegExp(IDEMPOTENCY_KEY_PATTERN);
const WAIT_FOR_FIRST_MS = 5_000;
const POLL_MS = 50;

/** JSON with object keys sorted, so bodies that differ only in key order or spacing hash alike. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function storable(response: APIGatewayProxyStructuredResultV2): StoredResponse {
  return {
    statusCode: response.statusCode ?? 200,
    headers: Object.fromEntries(Object.entries(response.headers ?? {}).map(([name, value]) => [name, String(value)])),
    ...(response.body !== undefined && { body: response.body }),
  };
}

/** Stores a request's answer, or logs why not: failing here must not change the answer. */
async function storeAnswer(owner: KeyClaim | { id: string }, response: StoredResponse): Promise<void> {
  try {
    await completeKey(owner, response);
  } catch (error) {
    logger.warn('could not store the answer for an idempotency key', { error });
  }
}

function replay(stored: StoredResponse): APIGatewayProxyStructuredResultV2 {
  return { ...stored, headers: { ...stored.headers, 'idempotent-replayed': 'true' } };
}

/** Still to be answered by the first request: no answer stored and no committed change to answer from. */
function pending(record: IdempotencyRecord): boolean {
  return !record.response && !record.committed;
}

/**
 * This request's part in its key: it holds the claim and runs the change, or it renders the
 * answer again from a change that an earlier attempt committed.
 */
type IdempotencyState = { claim: KeyClaim } | { replaying: { id: string } };

/**
 * Honours an `Idempotency-Key` header on a create: the first request with a key runs and its
 * response (success or client error) is kept for 24 hours; a retry with the same key and body
 * gets that response again and creates nothing; the same key with another body is 422.
 * A retry arriving while the first is still running waits for it. Runs after validation, so
 * only valid, authorised requests claim keys.
 * The create's result is recorded on the key in the create's own transaction, so a create that
 * committed is never run again for its key, even when its function died (or answered the
 * deadline's 503) before storing the answer: the retry renders the answer from that result.
 */
export function idempotency(
  operation: string,
): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  const state = new WeakMap<object, IdempotencyState>();
  return {
    before: async (request) => {
      const key = request.event.headers?.['idempotency-key'];
      if (key === undefined) return;
      if (!KEY_PATTERN.test(key)) {
        throw problemOf(PROBLEMS.validationError, 'Idempotency-Key must be 1 to 255 visible ASCII characters', {
          extra: { errors: [{ in: 'header', pointer: '/idempotency-key', detail: 'is not a valid key' }] },
        });
      }
      // Keys are per caller and per operation: one client's key never answers for another.
      const caller = createHash('sha256').update(callerOf(request.event)).digest('base64url').slice(0, 22);
      const recordId = `${operation}:${caller}:${key}`;
      const requestHash = createHash('sha256').update(canonicalJson(request.event.body)).digest('base64url');
      const deadline = Date.now() + WAIT_FOR_FIRST_MS;
      let claimed = await claimKey(recordId, requestHash, new Date());
      // Wait for the first request's answer; claiming again each time takes the key over if
      // the first one gave it up (a 5xx) or died before committing (its lease ran out).
      while (
        'record' in claimed &&
        pending(claimed.record) &&
        claimed.record.requestHash === requestHash &&
        Date.now() < deadline
      ) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        claimed = await claimKey(recordId, requestHash, new Date());
      }
      const scope = commitScope();
      if ('claim' in claimed) {
        const { claim } = claimed;
        // The key's outcome commits with the change (lib/db/commitScope.ts): a create that
        // committed always has it, whatever happens to this function afterwards.
        if (scope) scope.beforeCommit = (session, result) => recordCommit(claim, result, session);
        state.set(request, { claim });
        return;
      }
      const existing = claimed.record;
      if (existing.requestHash !== requestHash) {
        throw problemOf(PROBLEMS.idempotencyKeyReused, 'This Idempotency-Key was already used with a different body');
      }
      if (existing.response) return replay(existing.response);
      if (existing.committed && scope) {
        // Committed, answer never stored (the first attempt died or answered the deadline's
        // 503): the handler runs again, its transaction returns the committed result without
        // writing, and the answer is rendered from it as the first time.
        scope.committed = { result: existing.committed.result };
        state.set(request, { replaying: { id: recordId } });
        return;
      }
      throw problemOf(
        PROBLEMS.idempotencyKeyInProgress,
        'A request with this Idempotency-Key is still being processed; retry shortly',
        {
          headers: { 'retry-after': '1' },
        },
      );
    },
    after: async (request) => {
      const current = state.get(request);
      const response = request.response;
      if (!current || !response) return;
      state.delete(request);
      if ('replaying' in current) {
        await storeAnswer(current.replaying, storable(response));
        request.response = replay(storable(response));
        return;
      }
      // The change committed with the key's outcome: its answer goes to the client even if
      // storing it fails (a retry then renders it again from the outcome).
      await storeAnswer(current.claim, storable(response));
    },
    onError: async (request) => {
      const current = state.get(request);
      if (!current || !('claim' in current)) return;
      state.delete(request);
      if (request.error instanceof IdempotencyClaimLostError) {
        // This attempt outlived its lease and a retry holds the key now: nothing of this one
        // committed, and the key's answer is the retry's, so neither release nor store it.
        request.error = problemOf(
          PROBLEMS.idempotencyKeyInProgress,
          'A later request with this Idempotency-Key took it over; retry to get its answer',
          { headers: { 'retry-after': '1' } },
        );
        return;
      }
      const known = problemFor(request.error);
      // A client error is the answer to this request and is replayed like a success;
      // anything on our side (5xx) is forgotten so that the client's retry can succeed,
      // unless the change did commit (its outcome stays: the retry replays it).
      if (known && known.problem.status < 500) {
        await storeAnswer(current.claim, storable(problemResponse(known.problem, known.headers)));
      } else {
        await releaseKey(current.claim).catch((error: unknown) =>
          logger.warn('could not release idempotency key', { error }),
        );
      }
    },
  };
}
