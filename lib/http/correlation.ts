import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';

/** serverless-offline gives every event this same requestContext.requestId: it identifies nothing. */
const OFFLINE_PLACEHOLDER_REQUEST_ID = 'offlineContext_resourceId';

const correlationIds = new WeakMap<APIGatewayProxyEventV2, string>();

/**
 * The id that ties a request's log lines and error answer together: API Gateway's request id
 * (what its access logs and `apigw-requestid` header show); where there is none, or only
 * serverless-offline's constant placeholder, the Lambda invocation's id; else a fresh UUID.
 * The same event always gets the same id.
 */
export function correlationIdFor(event: APIGatewayProxyEventV2, context?: Pick<Context, 'awsRequestId'>): string {
  // API Gateway's id is the event's own: nothing to remember (the common case, every request on AWS).
  const gatewayId = event.requestContext?.requestId;
  if (gatewayId && gatewayId !== OFFLINE_PLACEHOLDER_REQUEST_ID) return gatewayId;
  let id = correlationIds.get(event);
  if (id === undefined) {
    id = context?.awsRequestId || randomUUID();
    correlationIds.set(event, id);
  }
  return id;
}
