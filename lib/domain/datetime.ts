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
