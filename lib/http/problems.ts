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

/** A kind of problem the API answers: the `type` and `title` it always has, and its status. */
export interface ProblemKind {
  readonly status: number;
  readonly type: string;
  readonly title: string;
}

/**
 * Every kind of problem the API answers. The middleware and handlers throw these (see
 * `problemOf`), and the OpenAPI document's error examples are built from the same entries, so
 * an example's `type` is the one the server sends. A kind with `about:blank` adds nothing to
 * its status (RFC 9457 section 4.2.1); the others say which of several causes it was.
 */
export const PROBLEMS = {
  validationError: { status: 400, type: '/problems/validation-error', title: 'Invalid request' },
  malformedJson: { status: 400, type: '/problems/malformed-json', title: 'Malformed JSON' },
  inexactNumber: { status: 400, type: '/problems/inexact-number', title: 'Number too precise' },
  unauthorized: { status: 401, type: '/problems/unauthorized', title: 'Unauthorized' },
  insufficientScope: { status: 403, type: '/problems/insufficient-scope', title: 'Forbidden' },
  notFound: { status: 404, type: '/problems/not-found', title: 'Resource not found' },
  /** A path no route has, or a file the docs page does not have. */
  noSuchPath: { status: 404, type: 'about:blank', title: 'Not Found' },
  orderWindowConflict: {
    status: 409,
    type: '/problems/order-window-conflict',
    title: 'Order too close to another order',
  },
  duplicateId: { status: 409, type: '/problems/duplicate-id', title: 'Id already exists' },
  serviceInUse: { status: 409, type: '/problems/service-in-use', title: 'Service is in use' },
  idempotencyKeyInProgress: {
    status: 409,
    type: '/problems/idempotency-key-in-progress',
    title: 'Request in progress',
  },
  preconditionFailed: { status: 412, type: '/problems/precondition-failed', title: 'Precondition Failed' },
  contentTooLarge: { status: 413, type: 'about:blank', title: 'Content Too Large' },
  unsupportedMediaType: { status: 415, type: 'about:blank', title: 'Unsupported Media Type' },
  unknownServices: { status: 422, type: '/problems/unknown-services', title: 'Referenced services do not exist' },
  idempotencyKeyReused: { status: 422, type: '/problems/idempotency-key-reused', title: 'Idempotency-Key reused' },
  internalError: { status: 500, type: 'about:blank', title: 'Internal Server Error' },
  databaseUnavailable: { status: 503, type: '/problems/database-unavailable', title: 'Service Unavailable' },
  writeContention: { status: 503, type: '/problems/write-contention', title: 'Service Unavailable' },
  deadlineExceeded: { status: 503, type: '/problems/deadline-exceeded', title: 'Service Unavailable' },
} as const satisfies Record<string, ProblemKind>;

/** The name of a kind of problem in PROBLEMS. */
export type ProblemName = keyof typeof PROBLEMS;

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

/** An HttpProblem of one of the PROBLEMS kinds: its status, type and title come from the kind. */
export function problemOf(
  kind: ProblemKind,
  detail: string,
  options: { extra?: Partial<ProblemDetails>; headers?: Record<string, string> } = {},
): HttpProblem {
  return new HttpProblem(kind.status, detail, { ...options, type: kind.type, title: kind.title });
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
  return problemOf(PROBLEMS.validationError, detail || 'The request is not valid', { extra: { errors: listed } });
}

/** The response for a problem: `application/problem+json` with the common headers. */
export function problemResponse(problem: ProblemDetails, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode: problem.status,
    headers: { 'content-type': 'application/problem+json', ...COMMON_HEADERS, ...headers },
    body: JSON.stringify(problem),
  };
}
