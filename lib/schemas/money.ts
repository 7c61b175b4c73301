/**
 * Money: an amount in currency units, written by the client as a JSON number with at most two
 * decimals, from 0 to MAX_AMOUNT. Stored and answered as that number (an IEEE double).
 *
 * Why this is exact: every decimal with at most 15 significant digits survives decimal → double
 * → shortest decimal unchanged (IEEE 754 double, DBL_DIG = 15), and every two-decimal amount up to
 * MAX_AMOUNT (9,999,999,999,999.99 at most) has at most 15. ajv's `multipleOf: 0.01` divides the
 * binary value by 0.01 and refuses 111848.18 (11–15% of amounts above 1e5); the check here
 * instead scales by 100, rounds to whole cents and compares: `round(x·100) / 100` is the double
 * nearest to the two-decimal amount, which is the parsed value iff the client wrote at most two
 * decimals. A literal with more digits than a double carries never gets this far: the JSON body
 * parser refuses it (lib/http/jsonNumbers.ts), so 1.0000000000000001 is never read as 1.
 */

import { Type } from '@sinclair/typebox';

/** The largest amount accepted: every two-decimal amount up to it has at most 15 significant digits. */
export const MAX_AMOUNT = 1e13;

/** The schema keyword that limits a number's decimal places (an OpenAPI `x-` extension). */
export const DECIMAL_PLACES_KEYWORD = 'x-maxDecimalPlaces';

/** True when `value` is a number written with at most `places` decimals (exactly, not within a tolerance). */
export function hasAtMostDecimalPlaces(value: number, places: number): boolean {
  const scale = 10 ** places;
  return Math.round(value * scale) / scale === value;
}

/** An amount of money in currency units: a JSON number, 0 to MAX_AMOUNT, at most two decimals. */
export const Amount = Type.Number({
  minimum: 0,
  maximum: MAX_AMOUNT,
  [DECIMAL_PLACES_KEYWORD]: 2,
  description:
    'An amount in currency units: 0 to 10,000,000,000,000 with at most two decimals, read back exactly as written ' +
    '(a number with more significant digits than a double holds is refused rather than rounded)',
  examples: [100, 111848.18],
});
