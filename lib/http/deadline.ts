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

/** A request in progress: when its deadline falls (performance.now()'s clock) and how to answer it then. */
interface Waiting {
  due: number;
  expire: () => void;
}

/** The requests in progress, each waiting on its deadline. */
const waiting = new Set<Waiting>();
/** One timer for them all, set for the earliest deadline (or earlier); refed only while one waits. */
let timer: NodeJS.Timeout | undefined;
/** When `timer` fires, on performance.now()'s clock; infinite when it is not set. */
let timerDue = Number.POSITIVE_INFINITY;
/**
 * Timers fire on the event loop's millisecond clock, which can read up to a millisecond ahead of
 * performance.now(): a deadline this close is due.
 */
const TIMER_SLACK_MS = 1;

function setTimer(due: number): void {
  if (timer) clearTimeout(timer);
  timerDue = due;
  timer = setTimeout(onTimer, Math.max(0, due - performance.now()));
}

function onTimer(): void {
  timer = undefined;
  timerDue = Number.POSITIVE_INFINITY;
  const now = performance.now() + TIMER_SLACK_MS;
  let next = Number.POSITIVE_INFINITY;
  for (const request of waiting) {
    if (request.due <= now) {
      waiting.delete(request);
      request.expire();
    } else if (request.due < next) next = request.due;
  }
  if (next !== Number.POSITIVE_INFINITY) setTimer(next);
}

function stopWaiting(request: Waiting): void {
  waiting.delete(request);
  // The timer stays set, for the next request (whose deadline is later): it only stops holding
  // the process open. Fired with nothing due, it sets itself for the earliest deadline or stops.
  if (waiting.size === 0) timer?.unref();
}

/**
 * Runs `work`, but answers `deadlineExceededResponse()` once the Lambda context has less than
 * `marginMs` left, so a client gets a 503 with Retry-After instead of the platform's timeout
 * error (on AWS a bare 500 "Internal Server Error"; under serverless-offline an HTTP 200 whose
 * body is the error). The work is not cancelled: a database write already sent may still
 * commit, which is why the answer says "may or may not". middy's own `timeoutEarlyInMillis`
 * is not used because it covers only the handler, not the before-middlewares (the idempotency
 * check can wait on the database too).
 *
 * The requests share one timer rather than each setting and clearing its own: a warm request
 * comes after the previous one and its deadline is later, so the timer set for the first stands,
 * fires early, and is set again for the deadline of whichever request is then in progress. On a
 * warm GET, a timer of its own cost a request about 4 microseconds (bench, issue #22).
 */
export function answerBeforeDeadline(
  context: Pick<Context, 'getRemainingTimeInMillis'> | undefined,
  work: () => Promise<APIGatewayProxyStructuredResultV2>,
  marginMs = DEADLINE_MARGIN_MS,
): Promise<APIGatewayProxyStructuredResultV2> {
  const remaining = context?.getRemainingTimeInMillis?.();
  if (typeof remaining !== 'number' || !Number.isFinite(remaining)) return work();
  const due = performance.now() + Math.max(0, remaining - marginMs);
  // One promise settled by whichever comes first, rather than Promise.race over the work and a
  // second promise: every request pays for this, and the deadline almost never fires.
  return new Promise((resolve, reject) => {
    const request: Waiting = { due, expire: () => resolve(deadlineExceededResponse()) };
    waiting.add(request);
    if (due < timerDue) setTimer(due);
    else if (waiting.size === 1) timer?.ref();
    let working: Promise<APIGatewayProxyStructuredResultV2>;
    try {
      working = work();
    } catch (error) {
      stopWaiting(request);
      throw error;
    }
    working.then(
      (result) => {
        stopWaiting(request);
        resolve(result);
      },
      (error: unknown) => {
        stopWaiting(request);
        reject(error);
      },
    );
  });
}
