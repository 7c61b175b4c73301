import { AsyncLocalStorage } from 'node:async_hooks';
import type { ClientSession } from 'mongodb';

/**
 * What one request asks of the transaction that makes its change. The idempotency middleware
 * fills it in (lib/http/middleware/idempotency.ts); `inTransaction` honours it. It is how an
 * Idempotency-Key's outcome is written in the same transaction as the change it answers for,
 * without the handler or the repositories knowing about keys.
 */
export interface CommitScope {
  /** Runs inside the change's transaction, after its work and before it commits, with what the work returned. */
  beforeCommit?: (session: ClientSession, result: unknown) => Promise<void>;
  /**
   * What this request's change returned when it committed in an earlier attempt (a retry with
   * the same key): `inTransaction` returns it again and runs nothing, so the answer is rendered
   * from the committed result exactly as the first time.
   */
  committed?: { result: unknown };
  /** The token's `sub` of the request (the authorize middleware sets it): the actor its change's event names. */
  actor?: string;
}

const scopes = new AsyncLocalStorage<CommitScope>();

/** Runs one request with a commit scope of its own (lib/http/httpHandler.ts wraps every request). */
export function withCommitScope<T>(run: () => T): T {
  return scopes.run({}, run);
}

/** The current request's commit scope, if it runs in one. */
export function commitScope(): CommitScope | undefined {
  return scopes.getStore();
}
