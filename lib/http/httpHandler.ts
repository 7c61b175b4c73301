import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { jsonBody } from './middleware/jsonBody.ts';
import { problemErrors } from './middleware/problemErrors.ts';
import { type RequestValidators, validateRequest } from './middleware/validateRequest.ts';
import type { HttpResult } from './responses.ts';

/** The validated parts of a request, typed by the validators that checked them. */
export interface ValidatedRequest<B, P, Q> {
  body: B;
  path: P;
  query: Q;
  event: APIGatewayProxyEventV2;
}

/** A Lambda handler for an API Gateway HTTP API (payload v2) route. */
export type ApiHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * Wraps a route's logic in the shared middleware: problem+json errors, JSON body parsing
 * (only when a body validator is given) and request validation. `run` receives the
 * validated input and returns the response.
 */
export function httpHandler<B = undefined, P = undefined, Q = undefined>(
  validators: RequestValidators<B, P, Q>,
  run: (request: ValidatedRequest<B, P, Q>) => Promise<HttpResult>,
): ApiHandler {
  const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>().use(problemErrors());
  if (validators.body) handler.use(jsonBody());
  handler.use(validateRequest(validators));
  return handler.handler((event) =>
    run({
      body: event.body as B,
      path: event.pathParameters as P,
      query: event.queryStringParameters as Q,
      event,
    }),
  ) as ApiHandler;
}
