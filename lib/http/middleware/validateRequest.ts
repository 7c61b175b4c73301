import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { type FieldProblem, validationProblem } from '../problems.ts';

/** A precompiled ajv validator (see scripts/build-validators.ts) narrowing to T. */
export interface Validator<T> {
  (data: unknown): data is T;
  errors?: AjvError[] | null;
}

interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/** Which parts of a request to validate, each with its validator. */
export interface RequestValidators<B, P, Q> {
  body?: Validator<B>;
  path?: Validator<P>;
  query?: Validator<Q>;
}

function escapePointerSegment(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** Turns ajv's errors into one entry per bad field, pointing at the field (RFC 6901). */
export function fieldProblems(where: FieldProblem['in'], errors: readonly AjvError[]): FieldProblem[] {
  // An `anyOf` failure also reports why each branch failed; the summary alone reads better.
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  // The schemas use `not` for one thing only: an id a route has taken (lib/schemas/order.ts).
  const reservedPaths = new Set(errors.filter((e) => e.keyword === 'not').map((e) => e.instancePath));
  const reserved = 'is reserved: a route of its own has this name';
  const problems: FieldProblem[] = [];
  for (const error of errors) {
    if (error.keyword !== 'anyOf' && anyOfPaths.has(error.instancePath)) continue;
    // An `if`/`then` failure is reported again as the `then` keyword that failed (uniqueItems).
    if (error.keyword === 'if') continue;
    if (error.keyword === 'required') {
      const field = escapePointerSegment(String(error.params.missingProperty));
      problems.push({ in: where, pointer: `${error.instancePath}/${field}`, detail: 'is required' });
    } else if (error.keyword === 'additionalProperties') {
      const field = escapePointerSegment(String(error.params.additionalProperty));
      problems.push({ in: where, pointer: `${error.instancePath}/${field}`, detail: 'is not a known field' });
    } else if (error.keyword === 'not') {
      problems.push({ in: where, pointer: error.instancePath, detail: reserved });
    } else if (error.keyword === 'uniqueItems') {
      // ajv names the later item of the first equal pair it finds (`i`) and the earlier one (`j`).
      problems.push({
        in: where,
        pointer: `${error.instancePath}/${String(error.params.i)}`,
        detail: `repeats ${error.instancePath}/${String(error.params.j)}`,
      });
    } else if (error.keyword === 'anyOf' && error.instancePath.endsWith('/id')) {
      problems.push({
        in: where,
        pointer: error.instancePath,
        detail: reservedPaths.has(error.instancePath)
          ? reserved
          : 'must be 1 to 64 characters of A-Z a-z 0-9 _ - or a non-negative integer',
      });
    } else {
      problems.push({ in: where, pointer: error.instancePath, detail: error.message ?? `fails ${error.keyword}` });
    }
  }
  return problems;
}

/**
 * Validates the body, path parameters and query string against precompiled validators and
 * answers 400 with every bad field at once. Query and path validators coerce strings to the
 * schema's types in place, so the handler reads typed values.
 */
export function validateRequest<B, P, Q>(
  validators: RequestValidators<B, P, Q>,
): MiddlewareObj<APIGatewayProxyEventV2> {
  return {
    before: (request) => {
      const event = request.event;
      // Created on the first bad part only: a valid request allocates no list.
      let problems: FieldProblem[] | undefined;
      if (validators.path) {
        event.pathParameters ??= {};
        if (!validators.path(event.pathParameters)) {
          problems = fieldProblems('path', validators.path.errors ?? []);
        }
      }
      if (validators.query) {
        event.queryStringParameters ??= {};
        if (!validators.query(event.queryStringParameters)) {
          problems = [...(problems ?? []), ...fieldProblems('query', validators.query.errors ?? [])];
        }
      }
      if (validators.body && !validators.body(event.body)) {
        problems = [...(problems ?? []), ...fieldProblems('body', validators.body.errors ?? [])];
      }
      if (problems && problems.length > 0) throw validationProblem(problems);
    },
  };
}
