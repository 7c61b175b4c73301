import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj, Request } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DEFAULT_METRICS_NAMESPACE, METRIC, type MetricName } from '#lib/observability/metricNames';
import { PROBLEMS } from '../problems.ts';
import { logger } from '../requestLog.ts';
import type { HttpResult } from '../responses.ts';

/**
 * The container's one metrics buffer (Powertools Metrics, CloudWatch embedded metric format on
 * stdout). Creating it reads the environment and nothing else: the `service` dimension comes from
 * POWERTOOLS_SERVICE_NAME; POWERTOOLS_METRICS_DISABLED=true (npm start, the test suite) keeps the
 * records off stdout. Its own warnings go through the request logger, so they are JSON and obey
 * POWERTOOLS_LOG_LEVEL.
 */
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || DEFAULT_METRICS_NAMESPACE,
  logger,
});

/** Refusals told apart by their problem `type`: each is its own metric. */
const REFUSALS: Readonly<Record<string, MetricName>> = {
  [PROBLEMS.orderWindowConflict.type]: METRIC.orderWindowConflict,
  [PROBLEMS.writeContention.type]: METRIC.writeContention,
  [PROBLEMS.databaseUnavailable.type]: METRIC.databaseUnavailable,
  [PROBLEMS.deadlineExceeded.type]: METRIC.deadlineExceeded,
};

function problemType(response: APIGatewayProxyStructuredResultV2): string | undefined {
  if (typeof response.body !== 'string') return undefined;
  try {
    const type = (JSON.parse(response.body) as { type?: unknown }).type;
    return typeof type === 'string' ? type : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The metric an answer counts, read from the answer itself so that every path that produces one
 * (a handler, a middleware's early return, an error mapped to a problem, the deadline's 503) is
 * counted the same way: a replayed answer is IdempotentReplay whatever it replays; a success
 * counts the metric it names or else its route's; a 400 is ValidationFailed; a 409 or 5xx
 * counts its problem type's metric, and a 5xx of no known type is UnexpectedError. Anything else
 * (reads, 404, 412, other 409s…) counts nothing.
 */
function outcomeMetric(response: HttpResult, routeSuccessMetric?: MetricName): MetricName | undefined {
  if (response.headers?.['idempotent-replayed'] === 'true') return METRIC.idempotentReplay;
  const status = response.statusCode;
  if (status < 300) return response.metric ?? routeSuccessMetric;
  if (status === 400) return METRIC.validationFailed;
  if (status === 409) return REFUSALS[problemType(response) ?? ''];
  if (status >= 500) return REFUSALS[problemType(response) ?? ''] ?? METRIC.unexpectedError;
  return undefined;
}

/**
 * Counts `metric` and writes it at once as this invocation's EMF record. A read counts nothing
 * and writes nothing (no record, no warning), without asking Powertools' store, which costs an
 * environment read: nothing else adds to this buffer, so there is nothing else to flush.
 */
function countAndFlush(metric: MetricName | undefined): void {
  if (!metric) return;
  metrics.addMetric(metric, MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
}

/** A middleware whose every step is synchronous and answers nothing itself (it only counts). */
export type CountingMiddleware = {
  [Step in 'before' | 'after' | 'onError']: (
    request: Request<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>,
  ) => void;
} & MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;

/**
 * Counts each invocation's outcome and flushes it once: cold starts with Powertools' own
 * `ColdStart` metric (before), the answer's metric (after, see outcomeMetric), and an error that
 * escapes every other handler as UnexpectedError (onError). Wired by httpHandler around the whole
 * request, deadline included, so it sees the answer the client gets. `successMetric` is the
 * route's (routes.ts); the answer's own `metric` field, if any, is removed here.
 */
export function apiMetrics(successMetric?: MetricName): CountingMiddleware {
  return {
    before: (request) => {
      metrics.captureColdStartMetric(request.context.functionName);
    },
    after: (request) => {
      const response = request.response as HttpResult | null;
      if (!response) return;
      const metric = outcomeMetric(response, successMetric);
      if (response.metric !== undefined) delete response.metric;
      countAndFlush(metric);
    },
    onError: () => {
      countAndFlush(METRIC.unexpectedError);
    },
  };
}
