import { describe, expect, it } from 'vitest';
import { DEADLINE_MARGIN_MS } from '#lib/http/deadline';
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
});
