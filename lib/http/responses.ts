import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Versioned } from '#lib/domain/versions';
import type { CountedOutcome } from '#lib/observability/metricNames';
import { etagFor } from './etag.ts';

/**
 * What every handler returns: a structured API Gateway v2 result. `metric` names the outcome
 * when the route's own success metric does not; the metrics middleware removes it before the
 * answer leaves.
 */
export type HttpResult = APIGatewayProxyStructuredResultV2 & { statusCode: number } & CountedOutcome;

/** Headers on every response: nothing here may be cached or sniffed as another type. */
export const COMMON_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

/** The headers of a JSON answer, built once: a request adds its own to a copy (one spread, not two). */
const JSON_HEADERS: Readonly<Record<string, string>> = { 'content-type': 'application/json', ...COMMON_HEADERS };

/** 200 with a JSON body. */
export function ok(body: unknown): HttpResult {
  return json(200, body);
}

/** 200 with a resource and its ETag (and the outcome metric the result names, if any). */
export function okVersioned(result: Versioned<unknown> & CountedOutcome): HttpResult {
  const response: HttpResult = {
    statusCode: 200,
    headers: { ...JSON_HEADERS, etag: etagFor(result.version) },
    body: JSON.stringify(result.resource),
  };
  if (result.metric) response.metric = result.metric;
  return response;
}

/** 201 with the new resource, its address and its ETag. */
export function created(result: Versioned<{ id: string }>, collectionPath: string): HttpResult {
  return json(201, result.resource, {
    location: `${collectionPath}/${encodeURIComponent(result.resource.id)}`,
    etag: etagFor(result.version),
  });
}

/** 204 without a body. */
export function noContent(): HttpResult {
  return { statusCode: 204, headers: { ...COMMON_HEADERS } };
}

/** A JSON response with the common headers. */
export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { ...JSON_HEADERS, ...headers },
    body: JSON.stringify(body),
  };
}
