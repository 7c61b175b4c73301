import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstInexactNumber, isExactNumberLiteral } from '#lib/http/jsonNumbers';
import { validateOrderInput } from '#lib/schemas/bodyValidators';
import { hasAtMostDecimalPlaces, MAX_AMOUNT } from '#lib/schemas/money';

const order = { datetime: '2022-11-24T12:00:00Z', services: [{ id: '123' }] };
const MAX_CENTS = MAX_AMOUNT * 100;

/** Whole cents as the decimal text a client writes: 11184818 → "111848.18". */
function centsText(cents: number): string {
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

describe('amounts with at most two decimals', () => {
  it.each([[111848.18], [633552.32], [1234567.89], [9747175377301.71], [111848.17], [0.07], [0], [MAX_AMOUNT]])(
    'accepts %s, which multipleOf 0.01 refused or must keep accepting',
    (totalfee) => {
      expect(validateOrderInput({ ...order, totalfee })).toBe(true);
    },
  );

  it('accepts every amount with at most two decimals in range, parsed from the text a client writes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_CENTS }), (cents) => {
        const text = centsText(cents);
        expect(validateOrderInput({ ...order, totalfee: JSON.parse(text) })).toBe(true);
        expect(isExactNumberLiteral(text)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses every amount written with three decimals (the third not 0), in range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_CENTS - 1 }), fc.integer({ min: 1, max: 9 }), (cents, thousandth) => {
        const text = `${centsText(cents)}${thousandth}`;
        // Either the literal reads exactly and the schema refuses its third decimal, or the
        // body parser refuses it for having more digits than a double holds: never accepted.
        const accepted = isExactNumberLiteral(text) && validateOrderInput({ ...order, totalfee: JSON.parse(text) });
        expect(accepted).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses amounts above the documented maximum and below zero', () => {
    expect(validateOrderInput({ ...order, totalfee: MAX_AMOUNT + 0.01 })).toBe(false);
    expect(validateOrderInput({ ...order, totalfee: -0.01 })).toBe(false);
  });

  it('checks decimals exactly, not within a tolerance', () => {
    for (const value of [0.0100000000001, 5e-12, 1.005, 0.001]) expect(hasAtMostDecimalPlaces(value, 2)).toBe(false);
    for (const value of [0.07, 19.99, 1e12 + 0.01]) expect(hasAtMostDecimalPlaces(value, 2)).toBe(true);
  });
});

describe('JSON numbers a double cannot hold', () => {
  it.each([['1.0000000000000001'], ['9007199254740993'], ['1e999'], ['1e-999'], ['9999999999999.991']])(
    'finds %s in a body',
    (literal) => {
      expect(firstInexactNumber(`{"name":"1e999","n":[1,{"x":${literal}}]}`)).toBe(literal);
    },
  );

  it.each([['120.50'], ['1.205e2'], ['-0'], ['9007199254740991'], ['0.1'], ['1E+2']])(
    'reads %s exactly, whatever the spelling',
    (literal) => {
      expect(firstInexactNumber(`[${literal}]`)).toBeUndefined();
    },
  );
});
