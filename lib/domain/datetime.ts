import { InvalidInputError } from './errors.ts';

/**
 * Turns a schema-valid RFC 3339 date-time into a Date. The schema guarantees the shape;
 * this catches what the shape allows but a JavaScript Date cannot hold (a leap second,
 * a year beyond ±275760), so it is a 400 rather than an Invalid Date stored.
 */
export function parseDateTime(value: string, pointer: string, where: 'body' | 'query'): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new InvalidInputError(pointer, where, `'${value}' is not a date-time this API can store`);
  }
  return date;
}

/**
 * The first and last instants the API can answer as RFC 3339 (`toISOString` writes other years
 * as `+010000-…` or `-000001-…`, which are not RFC 3339): computed answers are kept inside them.
 */
export const EARLIEST_API_DATETIME_MS = Date.parse('0000-01-01T00:00:00.000Z');
/** See EARLIEST_API_DATETIME_MS. */
export const LATEST_API_DATETIME_MS = Date.parse('9999-12-31T23:59:59.999Z');
