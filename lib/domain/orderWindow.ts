/**
 * The scheduling rule: no two orders may be less than one window apart.
 * Pure functions, no I/O: the repository uses them to build its queries and locks.
 */

/** Default window between two orders: 3 hours. */
export const DEFAULT_WINDOW_MINUTES = 180;

/** An order as far as the rule is concerned. */
export interface ScheduledOrder {
  id: string;
  datetime: Date;
}

/** The window in milliseconds for a length in minutes. */
export function windowMs(minutes: number): number {
  return minutes * 60_000;
}

/** True when two instants are less than one window apart (exactly one window apart is allowed). */
export function isWithinWindow(a: Date, b: Date, window: number): boolean {
  return Math.abs(a.getTime() - b.getTime()) < window;
}

/**
 * The open interval of instants that would conflict with `datetime`:
 * `(datetime - window, datetime + window)`. The repository queries it with `$gt`/`$lt`.
 */
export function conflictRange(datetime: Date, window: number): { after: Date; before: Date } {
  return { after: new Date(datetime.getTime() - window), before: new Date(datetime.getTime() + window) };
}

/**
 * The first order in `others` that would conflict with `candidate`, or undefined.
 * An order never conflicts with itself, so an update may keep or nudge its own time.
 */
export function findConflict(
  candidate: ScheduledOrder,
  others: Iterable<ScheduledOrder>,
  window: number,
): ScheduledOrder | undefined {
  for (const other of others) {
    if (other.id !== candidate.id && isWithinWindow(candidate.datetime, other.datetime, window)) return other;
  }
  return undefined;
}

/**
 * Throws when `candidate` conflicts with one of `others`; the error names the other order.
 */
export function assertOutsideWindow(candidate: ScheduledOrder, others: Iterable<ScheduledOrder>, window: number): void {
  const conflict = findConflict(candidate, others, window);
  if (conflict) throw new OrderWindowConflictError(conflict.id, window);
}

/** Raised when an order would sit less than one window from another. */
export class OrderWindowConflictError extends Error {
  constructor(
    readonly conflictingOrderId: string,
    readonly window: number,
  ) {
    super(`Another order (${conflictingOrderId}) is scheduled less than ${window / 60_000} minutes from this datetime`);
    this.name = 'OrderWindowConflictError';
  }
}

/**
 * The lock keys a create or move to `datetime` must write inside its transaction.
 *
 * Time is cut into buckets one window long. Two conflicting orders are less than a window
 * apart, so their buckets are equal or adjacent. Each writer locks its own bucket and the
 * next one: for buckets b and b+1 the two lock sets share b+1, for equal buckets they share
 * both. Writing a shared document is what makes MongoDB's snapshot isolation refuse the
 * second transaction (WriteConflict) instead of letting both inserts through (write skew).
 * The window length is part of the key, so a configuration change never mixes bucket sizes.
 */
export function windowLockKeys(datetime: Date, window: number): [string, string] {
  const bucket = Math.floor(datetime.getTime() / window);
  return [`${window}:${bucket}`, `${window}:${bucket + 1}`];
}
