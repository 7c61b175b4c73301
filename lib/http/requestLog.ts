import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { currentTraceId } from '#lib/observability/tracing';
import { correlationIdFor } from './correlation.ts';

/**
 * The service's structured JSON logger (AWS Lambda Powertools). Only request metadata is
 * logged: never bodies, headers, tokens or connection strings.
 */
export const logger = new Logger({ serviceName: 'order-management-api' });

/**
 * One line per request: correlation id, route, status and duration, and the trace id (X-Ray's
 * form) when the request is traced, so the line leads to its trace and the trace back to it.
 */
export function logRequest(
  event: APIGatewayProxyEventV2,
  context: Pick<Context, 'awsRequestId'>,
  result: APIGatewayProxyStructuredResultV2,
  startedAt: number,
): void {
  logger.info('request', {
    requestId: correlationIdFor(event, context),
    route: event.routeKey,
    method: event.requestContext?.http?.method,
    path: event.rawPath,
    status: result.statusCode,
    durationMs: Math.round((performance.now() - startedAt) * 10) / 10,
    traceId: currentTraceId(),
  });
}
