/**
 * Exact addition across BSON number types, for what JavaScript numbers (and mingo) get wrong:
 * Int64 beyond 2^53 (added as BigInt, overflow refused) and Decimal128 (added as scaled BigInt,
 * no binary rounding). The result type follows mongod: any Decimal128 → Decimal128, else any
 * non-integer double → Double, else Int64 when a Long takes part.
 */
import { Decimal128, Long } from 'bson';
import { exactDecimal, isLong } from './order.ts';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Whether a value is one of the numbers this module must add itself (JS numbers are mingo's). */
export function isExactNumber(v: unknown): boolean {
  return isLong(v) || v instanceof Decimal128;
}

/** Whether a value is a BSON number of any type. */
export function isBsonNumber(v: unknown): boolean {
  return typeof v === 'number' || isExactNumber(v);
}

/** A finite number as coefficient × 10^exponent for decimal arithmetic, or undefined for NaN/Infinity. */
function scaled(v: unknown): { c: bigint; e: number } | undefined {
  // An integer is an Int32/Int64 here (converted exactly); mongod converts a double with 15 significant digits.
  if (typeof v === 'number' && Number.isFinite(v) && !Number.isSafeInteger(v))
    return exactDecimal(Decimal128.fromString(v.toPrecision(15)));
  return exactDecimal(v);
}

function decimalOf(x: { c: bigint; e: number }): Decimal128 {
  const neg = x.c < 0n;
  const digits = (neg ? -x.c : x.c).toString();
  return Decimal128.fromStringWithRounding(`${neg ? '-' : ''}${digits}E${x.e}`);
}

function combine(a: unknown, b: unknown, op: 'add' | 'mul'): number | Long | Decimal128 | undefined {
  if (a instanceof Decimal128 || b instanceof Decimal128) {
    const x = scaled(a);
    const y = scaled(b);
    if (!x || !y) {
      const n = op === 'add' ? Number(String(a)) + Number(String(b)) : Number(String(a)) * Number(String(b));
      return Decimal128.fromString(Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity');
    }
    if (op === 'mul') return decimalOf({ c: x.c * y.c, e: x.e + y.e });
    const e = Math.min(x.e, y.e);
    return decimalOf({ c: x.c * 10n ** BigInt(x.e - e) + y.c * 10n ** BigInt(y.e - e), e });
  }
  const intLike = (v: unknown): boolean => isLong(v) || (typeof v === 'number' && Number.isInteger(v));
  if ((isLong(a) || isLong(b)) && intLike(a) && intLike(b)) {
    const x = BigInt(String(a));
    const y = BigInt(String(b));
    const r = op === 'add' ? x + y : x * y;
    if (r < INT64_MIN || r > INT64_MAX) return undefined;
    return Long.fromBigInt(r);
  }
  const x = Number(typeof a === 'number' ? a : String(a));
  const y = Number(typeof b === 'number' ? b : String(b));
  return op === 'add' ? x + y : x * y;
}

/** `a × b` with mongod's result type; undefined when an Int64 product overflows. */
export function mulBson(a: unknown, b: unknown): number | Long | Decimal128 | undefined {
  return combine(a, b, 'mul');
}

/**
 * `a + b` with mongod's result type; undefined when an Int64 sum overflows (mongod refuses
 * such an `$inc`; `$sum` turns to Double instead, which callers handle).
 */
export function addBson(a: unknown, b: unknown): number | Long | Decimal128 | undefined {
  return combine(a, b, 'add');
}

/** `-v` with its BSON type kept; undefined for the one Int64 without a negation (-2^63). */
export function negateBson(v: unknown): number | Long | Decimal128 | undefined {
  if (v instanceof Decimal128) {
    const s = v.toString();
    return Decimal128.fromString(s.startsWith('-') ? s.slice(1) : `-${s}`);
  }
  if (isLong(v)) {
    const n = -BigInt(String(v));
    return n > INT64_MAX ? undefined : Long.fromBigInt(n);
  }
  return -(v as number);
}

/**
 * The mean of BSON numbers as mongod's `$avg` gives it: Decimal128 when one of them is a
 * Decimal128 (34 significant digits), else a Double.
 */
export function averageBson(values: unknown[]): number | Decimal128 {
  let sum: unknown = 0;
  for (const v of values) sum = addBson(sum, v) ?? Number(String(sum)) + Number(String(v));
  if (!(sum instanceof Decimal128)) return Number(String(sum)) / values.length;
  const x = exactDecimal(sum);
  if (!x) return sum; // NaN or ±Infinity stay as they are
  // 40 more digits than the 34 a Decimal128 keeps, so its own rounding decides the last one; an
  // exact quotient keeps the sum's exponent (IEEE 754's preferred exponent), as mongod's does.
  const n = BigInt(values.length);
  let q = (x.c * 10n ** 40n) / n;
  let e = x.e - 40;
  if ((x.c * 10n ** 40n) % n === 0n) {
    while (e < x.e && q % 10n === 0n) {
      q /= 10n;
      e++;
    }
  }
  return decimalOf({ c: q, e });
}
