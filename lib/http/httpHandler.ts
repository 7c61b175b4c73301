import middy, { type MiddlewareObj, type Request } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { withCommitScope } from '#lib/db/commitScope';
import type { VersionPrecondition } from '#lib/domain/versions';
import { answerBeforeDeadline } from './deadline.ts';
import { parseIfMatch } from './ifMatch.ts';
import { authorize } from './middleware/authorize.ts';
import { jsonBody } from './middleware/jsonBody.ts';
import { apiMetrics } from './middleware/metrics.ts';
import { problemErrors } from './middleware/problemErrors.ts';
import { type RequestValidators, validateRequest } from './middleware/validateRequest.ts';
import { logRequest } from './requestLog.ts';
import { traceRequest } from './requestTrace.ts';
import type { HttpResult } from './responses.ts';
import { routeFor } from './routes.ts';

/** The validated parts of a request, typed by the validators that checked them. */
export interface ValidatedRequest<B, P, Q> {
  body: B;
  path: P;
  query: Q;
  /** The If-Match header as versions, for PUT and DELETE; undefined when absent. */
  precondition: VersionPrecondition | undefined;
  event: APIGatewayProxyEventV2;
}

/** A Lambda handler for an API Gateway HTTP API (payload v2) route. */
export type ApiHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * Wraps a route's logic in the shared middleware, in this order: problem+json errors, bearer
 * token and scope (from the route table), JSON body parsing (only with a body validator),
 * request validation, then `extra` (the creates pass `idempotency()`: taking it as an argument
 * keeps the idempotency store, and so the driver, out of bundles that do not need it).
 * `run` receives the validated input and returns the response; every response is logged once
 * and counted once (lib/http/middleware/metrics.ts).
 * `functionName` is the route table's key (the function's name in serverless.yml); `null` for
 * the public catch-all, which needs no token.
 */
export function httpHandler<B = undefined, P = undefined, Q = undefined>(
  functionName: string | null,
  validators: RequestValidators<B, P, Q>,
  run: (request: ValidatedRequest<B, P, Q>) => Promise<HttpResult>,
  extra: MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>[] = [],
): ApiHandler {
  const route = functionName === null ? undefined : routeFor(functionName);
  // middy's early timeout (5 ms by default, answered as an error) is off: answerBeforeDeadline
  // below covers the whole request, middlewares included.
  const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>({ timeoutEarlyInMillis: 0 }).use(
    problemErrors(),
  );
  if (route) handler.use(authorize(route.scope));
  if (validators.body) handler.use(jsonBody());
  handler.use(validateRequest(validators));
  for (const middleware of extra) handler.use(middleware);
  const wrapped = handler.handler((event) =>
    run({
      body: event.body as B,
      path: event.pathParameters as P,
      query: event.queryStringParameters as Q,
      precondition: parseIfMatch(event.headers?.['if-match']),
      event,
    }),
  );
  // Each request that can change data has its own commit scope: how the idempotency middleware
  // has a key's outcome written in the create's own transaction (lib/db/commitScope.ts). A read
  // commits nothing, so it goes without.
  const inner = (event: APIGatewayProxyEventV2, context: Context) =>
    wrapped(event, context) as Promise<APIGatewayProxyStructuredResultV2>;
  const scoped =
    route?.method === 'GET'
      ? inner
      : (event: APIGatewayProxyEventV2, context: Context) => withCommitScope(() => inner(event, context));
  // The metrics middleware runs around the deadline race, so that it counts and flushes the
  // answer the client gets, the deadline's 503 included (the inner chain never sees that one: it
  // is still running when the 503 leaves). It runs as a middy chain of that one middleware would
  // run it (before; the answer; after; onError for an error from any of them, then the error goes
  // on), but called here: its steps are synchronous and never answer, and a chain of its own cost
  // every request an AbortController, a request object and two async frames (bench, issue #22).
  const metrics = apiMetrics(route?.successMetric);
  // The request log is written inside the invocation's span, so that it carries the trace id.
  const respond = async (event: APIGatewayProxyEventV2, context: Context) => {
    const startedAt = performance.now();
    const request: Request<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> = {
      event,
      context,
      response: undefined,
      error: undefined,
      internal: {},
    };
    try {
      metrics.before(request);
      request.response = await answerBeforeDeadline(context, () => scoped(event, context));
      metrics.after(request);
    } catch (error) {
      request.response = undefined;
      request.error = error as Error;
      metrics.onError(request);
      throw error;
    }
    const result = request.response as APIGatewayProxyStructuredResultV2;
    logRequest(event, context, result, startedAt);
    return result;
  };
  return (event, context) => traceRequest(event, context, respond);
}
