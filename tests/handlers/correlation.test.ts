import { afterEach, describe, expect, it, vi } from 'vitest';
import { httpHandler } from '#lib/http/httpHandler';
import { logger } from '#lib/http/requestLog';
import { apiGatewayEvent, lambdaContext } from '../support/apiEvents.ts';
import { captureRequestLogs } from '../support/requestLogs.ts';

const failing = httpHandler(null, {}, async () => {
  throw new Error('boom');
});

/** Invokes the failing handler with this requestContext.requestId; returns the 500's id and the logged ones. */
async function failOnce(gatewayRequestId: string | undefined) {
  // Kept off stderr: the request log is on while the request runs (captureRequestLogs).
  const error = vi.spyOn(logger, 'error').mockImplementation(() => {});
  const event = apiGatewayEvent({ method: 'GET', route: '/boom', auth: false });
  if (gatewayRequestId === undefined) delete (event.requestContext as { requestId?: string }).requestId;
  else event.requestContext.requestId = gatewayRequestId;
  const context = lambdaContext();
  const { result, lines } = await captureRequestLogs(() => failing(event, context));
  const { correlationId } = JSON.parse(result.body ?? '{}') as { correlationId: string };
  const errorLine = error.mock.calls[0]?.[1] as { correlationId?: string } | undefined;
  vi.restoreAllMocks();
  expect(lines).toHaveLength(1);
  return {
    correlationId,
    loggedRequestId: lines[0]?.requestId,
    loggedCorrelationId: errorLine?.correlationId,
    context,
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('correlation ids', () => {
  it("use API Gateway's request id when there is a real one, in the 500 and in both log lines", async () => {
    const answer = await failOnce('JQ2wbjXXoAMEVbQ=');
    expect(answer.correlationId).toBe('JQ2wbjXXoAMEVbQ=');
    expect(answer.loggedRequestId).toBe('JQ2wbjXXoAMEVbQ=');
    expect(answer.loggedCorrelationId).toBe('JQ2wbjXXoAMEVbQ=');
  });

  it("are unique under serverless-offline, whose request id is the constant 'offlineContext_resourceId'", async () => {
    const first = await failOnce('offlineContext_resourceId');
    const second = await failOnce('offlineContext_resourceId');
    expect(first.correlationId).not.toBe('offlineContext_resourceId');
    expect(first.correlationId).not.toBe(second.correlationId);
    expect(first.correlationId).toBe(first.context.awsRequestId);
    expect(first.loggedRequestId).toBe(first.correlationId);
    expect(first.loggedCorrelationId).toBe(first.correlationId);
  });

  it('are made up when the event carries no request id', async () => {
    const answer = await failOnce(undefined);
    expect(answer.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.loggedRequestId).toBe(answer.correlationId);
  });
});
