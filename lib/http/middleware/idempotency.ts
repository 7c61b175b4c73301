import { createHash } from 'node:crypto';
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { claimKey, completeKey, releaseKey, type StoredResponse } from '#lib/db/idempotencyRepository';
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
async function storeAnswer(recordId: string, response: StoredResponse): Promise<void> {
  try {
    await completeKey(recordId, response);
  } catch (error) {
    logger.warn('could not store the answer for an idempotency key', { error });
  }
}

function replay(stored: StoredResponse): APIGatewayProxyStructuredResultV2 {
  return { ...stored, headers: { ...stored.headers, 'idempotent-replayed': 'true' } };
}

interface IdempotencyState {
  recordId?: string;
}

/**
 * Honours an `Idempotency-Key` header on a create: the first request with a key runs and its
 * response (success or client error) is kept for 24 hours; a retry with the same key and body
 * gets that response again and creates nothing; the same key with another body is 422.
 * A retry arriving while the first is still running waits for it. Runs after validation, so
 * only valid, authorised requests claim keys.
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
      let existing = await claimKey(recordId, requestHash, new Date());
      // Wait for the first request's answer; claiming again each time takes the key over if
      // the first one gave it up (a 5xx) or died without answering (its lease ran out).
      while (existing && !existing.response && existing.requestHash === requestHash && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        existing = await claimKey(recordId, requestHash, new Date());
      }
      if (!existing) {
        state.set(request, { recordId });
        return;
      }
      if (existing.requestHash !== requestHash) {
        throw problemOf(PROBLEMS.idempotencyKeyReused, 'This Idempotency-Key was already used with a different body');
      }
      if (existing.response) return replay(existing.response);
      throw problemOf(
        PROBLEMS.idempotencyKeyInProgress,
        'A request with this Idempotency-Key is still being processed; retry shortly',
        {
          headers: { 'retry-after': '1' },
        },
      );
    },
    after: async (request) => {
      const recordId = state.get(request)?.recordId;
      const response = request.response;
      if (!recordId || !response) return;
      // The create has committed: its answer goes to the client even if storing it fails.
      // The key is then never released (a retry must not create again); its lease runs out.
      state.delete(request);
      await storeAnswer(recordId, storable(response));
    },
    onError: async (request) => {
      const recordId = state.get(request)?.recordId;
      if (!recordId) return;
      const known = problemFor(request.error);
      // A client error is the answer to this request and is replayed like a success;
      // anything on our side (5xx) is forgotten so that the client's retry can succeed.
      if (known && known.problem.status < 500) {
        await storeAnswer(recordId, storable(problemResponse(known.problem, known.headers)));
      } else {
        await releaseKey(recordId).catch((error: unknown) =>
          logger.warn('could not release idempotency key', { error }),
        );
      }
    },
  };
}
