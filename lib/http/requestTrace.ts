import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { traceInvocation, tracingEnabled } from '#lib/observability/tracing';
import { correlationIdFor } from './correlation.ts';

/**
 * Runs one API request under its invocation span (lib/observability/tracing.ts), named for the
 * route (`POST /orders`). The span carries the ids an operator has in hand from a log line or an
 * access log: the correlation id (the request log's `requestId`), API Gateway's request id and
 * Lambda's invocation id. Never the path's values, the query, headers or the body.
 */
export function traceRequest<C extends Pick<Context, 'awsRequestId'>>(
  event: APIGatewayProxyEventV2,
  context: C,
  run: (event: APIGatewayProxyEventV2, context: C) => Promise<APIGatewayProxyStructuredResultV2>,
): Promise<APIGatewayProxyStructuredResultV2> {
  // Untraced (tracing off, or not on Lambda): no span, so no attributes to build, and `run` is
  // called as it is (a handler passes the same function every time: no closure per request).
  if (!tracingEnabled()) return run(event, context);
  const gatewayRequestId = event.requestContext?.requestId;
  return traceInvocation(
    event.routeKey || 'request',
    {
      'app.correlation_id': correlationIdFor(event, context),
      ...(gatewayRequestId && { 'aws.apigateway.request_id': gatewayRequestId }),
      'faas.invocation_id': context.awsRequestId,
      'faas.trigger': 'http',
      ...(event.requestContext?.http?.method && { 'http.request.method': event.requestContext.http.method }),
      ...(event.routeKey && { 'http.route': event.routeKey.slice(event.routeKey.indexOf(' ') + 1) }),
    },
    () => run(event, context),
  );
}
