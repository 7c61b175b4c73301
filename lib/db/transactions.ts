import type { ClientSession, MongoClient, TransactionOptions } from 'mongodb';
import { commitScope } from './commitScope.ts';

const TRANSACTION_OPTIONS: TransactionOptions = {
  readConcern: { level: 'snapshot' },
  writeConcern: { w: 'majority' },
};

/**
 * How long a transaction may keep retrying write conflicts. The driver's own limit is 120 s
 * (its `timeoutMS`, which would lower it, is a deprecated no-op in driver 7), far past the
 * function's 10 s timeout: a killed Lambda would answer nothing and leave its transaction
 * holding locks until the server's 60 s lifetime limit.
 */
export const TRANSACTION_BUDGET_MS = 7_000;

/**
 * Raised when a transaction is still being retried at the end of its budget (a 503). `cause` is
 * the error that made the last attempt fail inside the callback, when there was one: usually a
 * write conflict, but a network error is retried the same way and must not be reported as one.
 */
export class TransactionBudgetExceededError extends Error {
  constructor(
    readonly attempts: number,
    cause?: unknown,
  ) {
    super(`The transaction was still being retried after ${attempts} attempts`, { cause });
    this.name = 'TransactionBudgetExceededError';
  }
}

/**
 * Runs `work` in a snapshot transaction. The driver retries the whole callback on a
 * TransientTransactionError (a write conflict), so `work` must be safe to run again; no new
 * attempt starts once `budgetMs` has passed.
 *
 * Within a request's commit scope (lib/db/commitScope.ts), the scope's `beforeCommit` writes in
 * the same transaction (an Idempotency-Key's outcome), and a result the scope says already
 * committed is returned without running `work`. A repository must therefore return what its
 * transaction returned, and a request's change must be one transaction.
 */
export async function inTransaction<T>(
  client: MongoClient,
  work: (session: ClientSession) => Promise<T>,
  budgetMs: number = TRANSACTION_BUDGET_MS,
): Promise<T> {
  const scope = commitScope();
  if (scope?.committed) return scope.committed.result as T;
  const deadline = performance.now() + budgetMs;
  let attempts = 0;
  let lastFailure: unknown;
  const session = client.startSession();
  try {
    return await session.withTransaction(async (activeSession) => {
      // Not a MongoError, so withTransaction aborts and rethrows it instead of retrying.
      if (attempts > 0 && performance.now() > deadline) throw new TransactionBudgetExceededError(attempts, lastFailure);
      attempts += 1;
      lastFailure = undefined;
      try {
        const result = await work(activeSession);
        await scope?.beforeCommit?.(activeSession, result);
        return result;
      } catch (error) {
        lastFailure = error;
        throw error;
      }
    }, TRANSACTION_OPTIONS);
  } finally {
    await session.endSession();
  }
}
