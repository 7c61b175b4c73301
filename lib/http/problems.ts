import type { ProblemDetails } from '#lib/schemas/common';
import { COMMON_HEADERS, type HttpResult } from './responses.ts';

/** One field a request got wrong, for the `errors` list of a 400. */
export interface FieldProblem {
  in: 'body' | 'query' | 'path' | 'header';
  pointer: string;
  detail: string;
}

const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  401: 'Unauthorized',
  403: 'Forbidden',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/**
 * An error that carries its own problem details. Thrown by the HTTP middleware and
 * mapped from domain errors; the error handler turns it into the response.
 */
export class HttpProblem extends Error {
  readonly problem: ProblemDetails;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    detail: string,
    options: { type?: string; title?: string; extra?: Partial<ProblemDetails>; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
    this.problem = {
      type: options.type ?? 'about:blank',
      title: options.title ?? STATUS_TITLES[status] ?? 'Error',
      status,
      detail,
      ...options.extra,
    };
    this.headers = options.headers ?? {};
  }
}

/** At most this many field errors are listed, so a huge invalid body cannot make a huge answer. */
export const MAX_LISTED_ERRORS = 20;

/** A 400 listing each invalid field (the first MAX_LISTED_ERRORS of them). */
export function validationProblem(errors: FieldProblem[]): HttpProblem {
  const listed = errors.slice(0, MAX_LISTED_ERRORS);
  const more = errors.length - listed.length;
  const detail =
    listed.map((error) => `${error.in} ${error.pointer || '/'}: ${error.detail}`).join('; ') +
    (more > 0 ? `; and ${more} more` : '');
  return new HttpProblem(400, detail || 'The request is not valid', {
    type: '/problems/validation-error',
    title: 'Invalid request',
    extra: { errors: listed },
  });
}

/** The response for a problem: `application/problem+json` with the common headers. */
export function problemResponse(problem: ProblemDetails, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode: problem.status,
    headers: { 'content-type': 'application/problem+json', ...COMMON_HEADERS, ...headers },
    body: JSON.stringify(problem),
  };
}
