import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { RETRY_AFTER_SECONDS } from './errorMapping.ts';
import { PROBLEMS, problemResponse } from './problems.ts';
import type { HttpResult } from './responses.ts';

/**
 * How long before the function's time limit a request still in progress is answered 503.
 * Wide enough for the answer to leave on a busy machine (timers run late under load).
 */
export const DEADLINE_MARGIN_MS = 1_000;

/** The 503 a request gets when it would otherwise run into the function's time limit. */
export function deadlineExceededResponse(): HttpResult {
  return problemResponse(
    {
      ...PROBLEMS.deadlineExceeded,
      detail:
        'The request did not finish within the time limit and may or may not have been applied; ' +
        'retry it (with the same Idempotency-Key for a create)',
    },
    { 'retry-after': String(RETRY_AFTER_SECONDS) },
  );
}

/**
 * Runs `work`, but answers `deadlineExceededResponse()` once the Lambda context has less than
 * `marginMs` left, so a client gets a 503 with Retry-After instead of the platform's timeout
 * error (on AWS a bare 500 "Internal Server Error"; under serverless-offline an HTTP 200 whose
 * body is the error). The work is not cancelled: a database write already sent may still
 * commit, which is why the answer says "may or may not". middy's own `timeoutEarlyInMillis`
 * is not used because it covers only the handler, not the before-middlewares (the idempotency
 * check can wait on the database too).
 */
export function answerBeforeDeadline(
  context: Pick<Context, 'getRemainingTimeInMillis'> | undefined,
  work: () => Promise<APIGatewayProxyStructuredResultV2>,
  marginMs = DEADLINE_MARGIN_MS,
): Promise<APIGatewayProxyStructuredResultV2> {
  const remaining = context?.getRemainingTimeInMillis?.();
  if (typeof remaining !== 'number' || !Number.isFinite(remaining)) return work();
  // One promise settled by whichever comes first, rather than Promise.race over the work and a
  // second promise: every request pays for this, and the deadline almost never fires.
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(deadlineExceededResponse()), Math.max(0, remaining - marginMs));
    const done = () => clearTimeout(timer);
    let working: Promise<APIGatewayProxyStructuredResultV2>;
    try {
      working = work();
    } catch (error) {
      done();
      throw error;
    }
    working.then(
      (result) => {
        done();
        resolve(result);
      },
      (error: unknown) => {
        done();
        reject(error);
      },
    );
  });
}
