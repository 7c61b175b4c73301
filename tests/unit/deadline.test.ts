import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { answerBeforeDeadline, DEADLINE_MARGIN_MS } from '#lib/http/deadline';
import { httpHandler } from '#lib/http/httpHandler';
import { apiGatewayEvent, lambdaContext } from '../support/apiEvents.ts';

describe('the function time limit', () => {
  it('answers 503 problem+json with Retry-After when a request would outlive the limit', async () => {
    const never = httpHandler(null, {}, () => new Promise(() => {}));
    const context = { ...lambdaContext(), getRemainingTimeInMillis: () => DEADLINE_MARGIN_MS + 50 };
    const result = await never(apiGatewayEvent({ method: 'GET', route: '/slow' }), context);
    expect(result.statusCode).toBe(503);
    expect(result.headers).toMatchObject({ 'content-type': 'application/problem+json', 'retry-after': '5' });
    expect(JSON.parse(result.body ?? '{}')).toMatchObject({
      type: '/problems/deadline-exceeded',
      status: 503,
      detail: expect.stringContaining('may or may not have been applied'),
    });
  });

  it('leaves a request that finishes in time alone', async () => {
    const quick = httpHandler(null, {}, async () => ({ statusCode: 204, headers: {} }));
    const context = { ...lambdaContext(), getRemainingTimeInMillis: () => DEADLINE_MARGIN_MS + 5_000 };
    const result = await quick(apiGatewayEvent({ method: 'GET', route: '/quick' }), context);
    expect(result.statusCode).toBe(204);
  });

  /** Starts a request that never finishes, with `ms` left before its deadline; resolves with its answer's status and when it came. */
  function neverFinishing(ms: number): Promise<{ status: number; afterMs: number }> {
    const startedAt = performance.now();
    return answerBeforeDeadline(
      { getRemainingTimeInMillis: () => DEADLINE_MARGIN_MS + ms },
      () => new Promise<APIGatewayProxyStructuredResultV2>(() => {}),
    ).then((result) => ({ status: result.statusCode ?? 0, afterMs: performance.now() - startedAt }));
  }

  it('answers each of two requests in progress at its own deadline, the one started later first', async () => {
    const sooner: string[] = [];
    const later = neverFinishing(400).then((answer) => {
      sooner.push('later deadline');
      return answer;
    });
    const first = neverFinishing(100).then((answer) => {
      sooner.push('earlier deadline');
      return answer;
    });
    const [late, early] = await Promise.all([later, first]);
    expect(sooner).toEqual(['earlier deadline', 'later deadline']);
    expect(early.status).toBe(503);
    expect(late.status).toBe(503);
    // Timers may fire a millisecond early; never a deadline's worth.
    expect(late.afterMs).toBeGreaterThanOrEqual(395);
  });

  it('answers a request at its own deadline, not at the sooner one of a request that has finished', async () => {
    const quick = await answerBeforeDeadline(
      { getRemainingTimeInMillis: () => DEADLINE_MARGIN_MS + 100 },
      async () => ({
        statusCode: 204,
      }),
    );
    expect(quick.statusCode).toBe(204);
    const answer = await neverFinishing(400);
    expect(answer.status).toBe(503);
    expect(answer.afterMs).toBeGreaterThanOrEqual(395);
  });

  it('does not hold the process open once no request is in progress', async () => {
    // A quick request with ten minutes left, in a process of its own: it must exit at once, not
    // when the timer set for that deadline would fire.
    const script = [
      "const { answerBeforeDeadline } = await import('#lib/http/deadline');",
      'await answerBeforeDeadline({ getRemainingTimeInMillis: () => 600_000 }, async () => ({ statusCode: 204 }));',
      "console.log('answered');",
    ].join('\n');
    const startedAt = performance.now();
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '--eval', script],
      { timeout: 25_000 },
    );
    expect(stdout.trim()).toBe('answered');
    expect(performance.now() - startedAt).toBeLessThan(25_000);
  });
});
