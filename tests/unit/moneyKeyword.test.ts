/**
 * The `x-maxDecimalPlaces` keyword as ajv compiles it from its source now, not as the committed
 * validators were generated: a change to the keyword's code fails here, not only in the
 * freshness check of lib/schemas/generated.
 */
import { Ajv } from 'ajv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decimalPlacesKeyword } from '#lib/schemas/keywords';
import { DECIMAL_PLACES_KEYWORD, hasAtMostDecimalPlaces, MAX_AMOUNT } from '#lib/schemas/money';

const ajv = new Ajv({ allErrors: true, strict: true });
ajv.addKeyword(decimalPlacesKeyword);
const twoDecimals = ajv.compile({ type: 'number', [DECIMAL_PLACES_KEYWORD]: 2 });

describe('the x-maxDecimalPlaces keyword', () => {
  it.each([[0], [0.07], [1], [111848.18], [633552.32], [9747175377301.71], [MAX_AMOUNT]])('accepts %s', (value) => {
    expect(twoDecimals(value)).toBe(true);
  });

  it.each([[0.001], [0.071], [111848.181], [1.005], [12.3456]])(
    'refuses %s, saying how many decimals are allowed',
    (value) => {
      expect(twoDecimals(value)).toBe(false);
      expect(twoDecimals.errors).toEqual([
        expect.objectContaining({ keyword: DECIMAL_PLACES_KEYWORD, message: 'must have at most 2 decimal places' }),
      ]);
    },
  );

  it('agrees with hasAtMostDecimalPlaces on whole cents and on thousandths across the range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_AMOUNT * 100 }), fc.integer({ min: 0, max: 9 }), (cents, digit) => {
        const amount = Number(`${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`);
        expect(twoDecimals(amount)).toBe(true);
        const finer = Number(`${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}${digit}`);
        expect(twoDecimals(finer)).toBe(hasAtMostDecimalPlaces(finer, 2));
      }),
      { numRuns: 2000 },
    );
  });
});
