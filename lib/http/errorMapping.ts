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
import { HttpProblem, PROBLEMS, problemOf, validationProblem } from './problems.ts';

/** Seconds a client should wait before retrying when the database is unreachable. */
export const RETRY_AFTER_SECONDS = 5;

/**
 * Maps an error to the problem the client sees, or undefined for an unexpected error
 * (which the handler answers as an opaque 500).
 */
export function problemFor(error: unknown): HttpProblem | undefined {
  if (error instanceof HttpProblem) return error;
  if (error instanceof OrderWindowConflictError) {
    return problemOf(PROBLEMS.orderWindowConflict, error.message, {
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
    return problemOf(PROBLEMS.notFound, error.message);
  }
  if (error instanceof DuplicateIdError) {
    return problemOf(PROBLEMS.duplicateId, error.message);
  }
  if (error instanceof ServiceInUseError) {
    return problemOf(PROBLEMS.serviceInUse, error.message);
  }
  if (error instanceof UnknownServicesError) {
    return problemOf(PROBLEMS.unknownServices, error.message, {
      extra: { missingServiceIds: error.missingServiceIds },
    });
  }
  if (error instanceof PreconditionFailedError) {
    return problemOf(PROBLEMS.preconditionFailed, error.message);
  }
  if (error instanceof InvalidInputError) {
    return validationProblem([{ in: error.where, pointer: error.pointer, detail: error.message }]);
  }
  if (isWriteContention(error)) {
    return problemOf(
      PROBLEMS.writeContention,
      'Concurrent writes to the same records kept conflicting with this request until its time budget ran out; nothing was changed, retry shortly',
      { headers: { 'retry-after': String(RETRY_AFTER_SECONDS) } },
    );
  }
  if (isDatabaseUnavailable(error)) {
    return problemOf(PROBLEMS.databaseUnavailable, 'The database cannot be reached right now; retry shortly', {
      headers: { 'retry-after': String(RETRY_AFTER_SECONDS) },
    });
  }
  return undefined;
}
