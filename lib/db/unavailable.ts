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
 * Checks names and labels instead of driver classes so the HTTP layer can use it without
 * pulling the driver into bundles that never talk to MongoDB (the catch-all route, docs).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (UNAVAILABLE_ERROR_NAMES.has(error.name)) return true;
  // A transaction that kept losing write conflicts until the driver gave up retrying.
  const { code, errorLabels } = error as { code?: unknown; errorLabels?: unknown };
  if (!error.name.startsWith('Mongo')) return false;
  return code === 112 || (Array.isArray(errorLabels) && errorLabels.includes('TransientTransactionError'));
}
