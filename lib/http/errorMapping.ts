import { isDatabaseUnavailable, isWriteContention } from '#lib/db/unavailable';
import {
  DuplicateIdError,
  InvalidInputError,
  NotFoundError,
  ServiceInUseError,
  UnknownServicesError,
} from '#lib/domain/errors';
import { OrderWindowConflictError } from '#lib/domain/orderWindow';
import { PreconditionFailedError } from '#lib/domain/versions';
import { HttpProblem, validationProblem } from './problems.ts';

/** Seconds a client should wait before retrying when the database is unreachable. */
export const RETRY_AFTER_SECONDS = 5;

/**
 * Maps an error to the problem the client sees, or undefined for an unexpected error
 * (which the handler answers as an opaque 500).
 */
export function problemFor(error: unknown): HttpProblem | undefined {
  if (error instanceof HttpProblem) return error;
  if (error instanceof OrderWindowConflictError) {
    return new HttpProblem(409, error.message, {
      type: '/problems/order-window-conflict',
      title: 'Order too close to another order',
      extra: {
        conflictingOrderId: error.conflictingOrderId,
        ...(error.nearestAvailable && {
          nearestAvailable: {
            ...(error.nearestAvailable.before && { before: error.nearestAvailable.before.toISOString() }),
            ...(error.nearestAvailable.after && { after: error.nearestAvailable.after.toISOString() }),
          },
        }),
      },
    });
  }
  if (error instanceof NotFoundError) {
    return new HttpProblem(404, error.message, { type: '/problems/not-found', title: 'Resource not found' });
  }
  if (error instanceof DuplicateIdError) {
    return new HttpProblem(409, error.message, { type: '/problems/duplicate-id', title: 'Id already exists' });
  }
  if (error instanceof ServiceInUseError) {
    return new HttpProblem(409, error.message, { type: '/problems/service-in-use', title: 'Service is in use' });
  }
  if (error instanceof UnknownServicesError) {
    return new HttpProblem(422, error.message, {
      type: '/problems/unknown-services',
      title: 'Referenced services do not exist',
      extra: { missingServiceIds: error.missingServiceIds },
    });
  }
  if (error instanceof PreconditionFailedError) {
    return new HttpProblem(412, error.message, { type: '/problems/precondition-failed', title: 'Precondition Failed' });
  }
  if (error instanceof InvalidInputError) {
    return validationProblem([{ in: error.where, pointer: error.pointer, detail: error.message }]);
  }
  if (isWriteContention(error)) {
    return new HttpProblem(
      503,
      'Concurrent writes to the same records kept conflicting with this request until its time budget ran out; nothing was changed, retry shortly',
      { type: '/problems/write-contention', headers: { 'retry-after': String(RETRY_AFTER_SECONDS) } },
    );
  }
  if (isDatabaseUnavailable(error)) {
    return new HttpProblem(503, 'The database cannot be reached right now; retry shortly', {
      type: '/problems/database-unavailable',
      title: 'Service Unavailable',
      headers: { 'retry-after': String(RETRY_AFTER_SECONDS) },
    });
  }
  return undefined;
}
