/**
 * The scheduling rule: no two orders may be less than one window apart.
 * Pure functions, no I/O: the repository uses them to build its queries and locks.
 */
import { EARLIEST_API_DATETIME_MS, LATEST_API_DATETIME_MS } from './datetime.ts';

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
    /** The nearest datetimes the rule would accept instead, when they were searched for. */
    readonly nearestAvailable?: NearestAvailable,
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

/**
 * A stretch of time in which a new order may be placed: every instant from `start` to `end`,
 * both included, at the millisecond precision datetimes are stored with. An interval that ends
 * at an order's window ends exactly one window before that order (allowed); one cut by the end
 * of a requested range `[from, to)` ends one millisecond before `to`. `start` may equal `end`
 * (two orders exactly two windows apart leave exactly one instant free between them).
 */
export interface FreeInterval {
  start: Date;
  end: Date;
}

/**
 * The instants of `[from, to)` at which an order `exceptId` (or a new order, without it) would
 * be accepted against `others`: maximal, disjoint intervals in time order. `others` must hold
 * every order less than one window from the range, i.e. in `(from - window, to + window)`;
 * orders farther away change nothing, so they may be included or not.
 */
export function freeIntervals(
  range: { from: Date; to: Date },
  others: Iterable<ScheduledOrder>,
  window: number,
  exceptId?: string,
): FreeInterval[] {
  const first = range.from.getTime();
  const last = range.to.getTime() - 1;
  const taken = [...others]
    .filter((other) => other.id !== exceptId)
    .map((other) => other.datetime.getTime())
    .sort((a, b) => a - b);
  const intervals: FreeInterval[] = [];
  // Every instant before `cursor` is decided; instants from `cursor` on are free until an order says otherwise.
  let cursor = first;
  for (const at of taken) {
    // An order at `at` refuses the open interval (at - window, at + window): in whole
    // milliseconds, at - window + 1 through at + window - 1.
    const blockedFrom = at - window + 1;
    const blockedTo = at + window - 1;
    if (blockedFrom > cursor && cursor <= last) {
      intervals.push({ start: new Date(cursor), end: new Date(Math.min(blockedFrom - 1, last)) });
    }
    cursor = Math.max(cursor, blockedTo + 1);
  }
  if (cursor <= last) intervals.push({ start: new Date(cursor), end: new Date(last) });
  return intervals;
}

/** The nearest accepted datetimes strictly before and strictly after a refused one. */
export interface NearestAvailable {
  before?: Date;
  after?: Date;
}

/** How far each way the nearest accepted datetime is looked for: a week… */
export const NEAREST_SEARCH_MAX_MS = 7 * 24 * 60 * 60_000;
/** …and never more than this many windows (a week at the default 3 hours), which bounds the orders read. */
export const NEAREST_SEARCH_MAX_WINDOWS = 56;

/** How far each way `nearestAvailable` looks for a window of this length. */
export function nearestSearchSpan(window: number): number {
  return Math.min(NEAREST_SEARCH_MAX_MS, NEAREST_SEARCH_MAX_WINDOWS * window);
}

/**
 * The latest datetime before `candidate.datetime` and the earliest after it at which the
 * candidate would be accepted against `others` (itself excluded, as the rule does), each
 * looked for within `nearestSearchSpan(window)` and within the datetimes the API can answer;
 * absent when that search finds none. Nothing strictly between `before` and the requested
 * datetime, or between it and `after`, is accepted. `others` must hold every order in
 * `(datetime - span - window, datetime + span + window)`.
 */
export function nearestAvailable(
  candidate: ScheduledOrder,
  others: readonly ScheduledOrder[],
  window: number,
): NearestAvailable {
  const requested = candidate.datetime.getTime();
  const span = nearestSearchSpan(window);
  // Both searches stay within the datetimes the API can write, even for a request just outside them.
  const lookBefore = {
    from: Math.max(requested - span, EARLIEST_API_DATETIME_MS),
    to: Math.min(requested, LATEST_API_DATETIME_MS + 1),
  };
  const lookAfter = {
    from: Math.max(requested + 1, EARLIEST_API_DATETIME_MS),
    to: Math.min(requested + span, LATEST_API_DATETIME_MS) + 1,
  };
  const nearest: NearestAvailable = {};
  if (lookBefore.from < lookBefore.to) {
    const range = { from: new Date(lookBefore.from), to: new Date(lookBefore.to) };
    const last = freeIntervals(range, others, window, candidate.id).at(-1);
    if (last) nearest.before = last.end;
  }
  if (lookAfter.from < lookAfter.to) {
    const range = { from: new Date(lookAfter.from), to: new Date(lookAfter.to) };
    const first = freeIntervals(range, others, window, candidate.id)[0];
    if (first) nearest.after = first.start;
  }
  return nearest;
}

/** The longest range `GET /orders/availability` answers: 31 days… */
export const AVAILABILITY_MAX_SPAN_MS = 31 * 24 * 60 * 60_000;
/** …and never more than this many windows, so the orders one request reads stay few whatever the window. */
export const AVAILABILITY_MAX_WINDOWS = 500;

/** The longest `[from, to)` an availability request may ask for, for a window of this length. */
export function availabilityMaxSpan(window: number): number {
  return Math.min(AVAILABILITY_MAX_SPAN_MS, AVAILABILITY_MAX_WINDOWS * window);
}
