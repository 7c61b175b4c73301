import { InvalidInputError } from './errors.ts';

/**
 * The first and last instants the API can answer as RFC 3339 (`toISOString` writes other years
 * as `+010000-…` or `-000001-…`, which are not RFC 3339): computed answers are kept inside them.
 */
export const EARLIEST_API_DATETIME_MS = Date.parse('0000-01-01T00:00:00.000Z');
/** See EARLIEST_API_DATETIME_MS. */
export const LATEST_API_DATETIME_MS = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * Turns a schema-valid RFC 3339 date-time into a Date. The schema guarantees the shape (and no
 * leap second, which a JavaScript Date cannot hold); this refuses (400) what the shape allows but
 * the API could not answer as RFC 3339: an offset that carries the instant outside years 0000 to
 * 9999 in UTC (`0000-01-01T00:00:00+01:00`), which JSON Schema cannot express.
 */
export function parseDateTime(value: string, pointer: string, where: 'body' | 'query'): Date {
  // RFC 3339 also allows `t`, `z` and a space between date and time; JavaScript's own format
  // (which Date parses the same everywhere) has only `T` and `Z`. Other forms go through an
  // engine's fallback parser, which in V8 refuses `0031-12-31 23:59:59Z`.
  const date = new Date(`${value.slice(0, 10)}T${value.slice(11)}`.toUpperCase());
  if (Number.isNaN(date.getTime())) {
    throw new InvalidInputError(pointer, where, `'${value}' is not a date-time this API can store`);
  }
  if (date.getTime() < EARLIEST_API_DATETIME_MS || date.getTime() > LATEST_API_DATETIME_MS) {
    throw new InvalidInputError(pointer, where, 'must be within years 0000 to 9999 in UTC');
  }
  return date;
}
