const UNAVAILABLE_ERROR_NAMES = new Set([
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  'MongoPoolClearedError',
  'MongoOperationTimeoutError',
  // Ours (lib/db/transactions.ts): write conflicts outlasted the transaction budget.
  'TransactionBudgetExceededError',
]);

/**
 * Server error codes that mean "not now", not "not ever": a write conflict the driver gave up
 * retrying, an election or step-down in progress, a shutdown, an exceeded time limit.
 */
const TRANSIENT_SERVER_CODES = new Set([
  112, // WriteConflict
  10107, // NotWritablePrimary
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
  189, // PrimarySteppedDown
  11602, // InterruptedDueToReplStateChange
  11600, // InterruptedAtShutdown
  91, // ShutdownInProgress
  50, // MaxTimeMSExpired
  262, // ExceededTimeLimit
]);

const TRANSIENT_LABELS = ['TransientTransactionError', 'RetryableWriteError', 'UnknownTransactionCommitResult'];

/**
 * True when an error means the database could not be reached or is too busy right now,
 * so the client should retry later (503) rather than a bug in the request (4xx) or in us (500).
 * Checks names, codes and labels instead of driver classes so the HTTP layer can use it
 * without pulling the driver into bundles that never talk to MongoDB (the catch-all, docs).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (UNAVAILABLE_ERROR_NAMES.has(error.name)) return true;
  if (!error.name.startsWith('Mongo')) return false;
  const { code, errorLabels } = error as { code?: unknown; errorLabels?: unknown };
  if (typeof code === 'number' && TRANSIENT_SERVER_CODES.has(code)) return true;
  return Array.isArray(errorLabels) && TRANSIENT_LABELS.some((label) => errorLabels.includes(label));
}

/**
 * True when the database was reachable but concurrent writes kept conflicting with this one:
 * a WriteConflict escaped the driver's retries, or the transaction budget ran out (ours,
 * lib/db/transactions.ts) on a write conflict, or on a commit retry, never on a network error.
 * A 503 too, but its body must not claim the database is unreachable.
 */
export function isWriteContention(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'TransactionBudgetExceededError')
    return error.cause === undefined || isWriteContention(error.cause);
  return error.name.startsWith('Mongo') && (error as { code?: unknown }).code === 112;
}
