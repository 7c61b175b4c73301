/**
 * Requests that openapi.json calls valid, every part drawn from its schemas (valueFor), for the
 * checks that the server never refuses one with a 400: in-process
 * (tests/contract/documentMatchesServer.test.ts) and over HTTP (openapi.http.fuzz.test.ts).
 */
import fc from 'fast-check';
import type { TestRequest } from '../support/apiEvents.ts';
import { type OpenApiDocument, type Operation, valueFor } from './openapiSchemas.ts';

/** An RFC 3339 date-time's instant, read field by field (not with Date.parse, whose fallback forms vary). */
function rfc3339Milliseconds(value: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/.exec(
    value,
  );
  if (!match) throw new Error(`not an RFC 3339 date-time: ${value}`);
  const [, year, month, day, hour, minute, second, fraction, sign, offsetHours, offsetMinutes] = match;
  const utc = new Date(0);
  utc.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  utc.setUTCHours(Number(hour), Number(minute), Number(second), Math.floor(Number(fraction ?? 0) * 1000));
  const offset = sign ? (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes)) : 0;
  return utc.getTime() - offset * 60_000;
}

/**
 * Rules the server applies that JSON Schema cannot state: each is written in the 400 description
 * of its operation in the document, and the generator below follows it.
 */
export const RULES_IN_PROSE = {
  /** PUT: an `id` in the body must be the one in the path. */
  bodyIdIsPathId: (request: TestRequest): TestRequest =>
    request.method === 'PUT' && request.body && typeof request.body === 'object' && 'id' in request.body
      ? { ...request, body: { ...request.body, id: request.pathParameters?.id } }
      : request,
  /** Lists: a `cursor` is only ever a `next` the list returned; the generator sends none. */
  noForeignCursor: (request: TestRequest): TestRequest => {
    const { cursor: _cursor, ...query } = request.query ?? {};
    return { ...request, query };
  },
  /** Availability: `to` later than `from`, by at most 31 days (and 500 order windows of 3 hours). */
  availabilityRange: (request: TestRequest, spanMs: number): TestRequest => {
    if (request.route !== '/orders/availability' || !request.query?.from) return request;
    const from = rfc3339Milliseconds(request.query.from);
    return { ...request, query: { ...request.query, to: new Date(from + spanMs).toISOString() } };
  },
};

/** A request that the document calls valid for `operation`, every part drawn from its schemas. */
export function validRequest(document: OpenApiDocument, operation: Operation): fc.Arbitrary<TestRequest> {
  const optional = (parameters: Operation['queryParameters']) =>
    fc.record(
      Object.fromEntries(
        parameters.map((parameter) => [parameter.name, valueFor(document, parameter.schema).map(String)]),
      ) as Record<string, fc.Arbitrary<string>>,
      { requiredKeys: parameters.filter((parameter) => parameter.required).map((parameter) => parameter.name) },
    );
  return fc
    .record({
      pathParameters: optional(operation.pathParameters.map((parameter) => ({ ...parameter, required: true }))),
      query: optional(operation.queryParameters),
      headers: optional(operation.headerParameters),
      body: operation.body ? valueFor(document, operation.body) : fc.constant(undefined),
      // Up to 31 days, within 500 windows of 3 hours (62.5 days): the longer limit never binds.
      availabilitySpan: fc.integer({ min: 1, max: 31 * 24 * 3600 * 1000 }),
    })
    .map(({ pathParameters, query, headers, body, availabilitySpan }) => {
      const request: TestRequest = {
        method: operation.method,
        route: operation.path,
        pathParameters,
        query,
        headers,
        ...(body !== undefined && { body }),
      };
      return RULES_IN_PROSE.availabilityRange(
        RULES_IN_PROSE.noForeignCursor(RULES_IN_PROSE.bodyIdIsPathId(request)),
        availabilitySpan,
      );
    });
}
