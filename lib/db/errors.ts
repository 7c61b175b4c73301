import { MongoError, MongoServerError } from 'mongodb';

const UNAVAILABLE_ERROR_NAMES = new Set([
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  'MongoPoolClearedError',
  'MongoOperationTimeoutError',
]);

/**
 * True when an error means the database could not be reached or is too busy right now,
 * so the client should retry later (503) rather than a bug in the request (4xx) or in us (500).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof MongoError)) return false;
  if (UNAVAILABLE_ERROR_NAMES.has(error.name)) return true;
  // A transaction that kept losing write conflicts until the driver gave up retrying.
  return error.hasErrorLabel('TransientTransactionError') || error.code === 112;
}

/** True for a duplicate key error (E11000). */
export function isDuplicateKeyError(error: unknown): error is MongoServerError {
  return error instanceof MongoServerError && error.code === 11000;
}
