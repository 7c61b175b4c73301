import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readConfig } from '#lib/config';
import {
  assertOutsideWindow,
  conflictRange,
  findConflict,
  isWithinWindow,
  OrderWindowConflictError,
  windowLockKeys,
  windowMs,
} from '#lib/domain/orderWindow';

const THREE_HOURS = windowMs(180);
const at = (iso: string) => new Date(iso);
const base = { id: 'a', datetime: at('2022-11-24T12:00:00Z') };
const minutes = (n: number) => n * 60_000;
const shifted = (id: string, deltaMs: number) => ({ id, datetime: new Date(base.datetime.getTime() + deltaMs) });

describe('the 3-hour window', () => {
  it('rejects an order 2h59m after another', () => {
    expect(findConflict(shifted('b', minutes(179)), [base], THREE_HOURS)?.id).toBe('a');
  });

  it('rejects an order 2h59m before another', () => {
    expect(findConflict(shifted('b', -minutes(179)), [base], THREE_HOURS)?.id).toBe('a');
  });

  it('rejects an order one millisecond short of 3 hours on either side', () => {
    expect(isWithinWindow(base.datetime, shifted('b', THREE_HOURS - 1).datetime, THREE_HOURS)).toBe(true);
    expect(isWithinWindow(base.datetime, shifted('b', -(THREE_HOURS - 1)).datetime, THREE_HOURS)).toBe(true);
  });

  it('accepts an order exactly 3 hours after or before another', () => {
    expect(findConflict(shifted('b', THREE_HOURS), [base], THREE_HOURS)).toBeUndefined();
    expect(findConflict(shifted('b', -THREE_HOURS), [base], THREE_HOURS)).toBeUndefined();
  });

  it('rejects an order at the very same instant', () => {
    expect(() => assertOutsideWindow(shifted('b', 0), [base], THREE_HOURS)).toThrow(OrderWindowConflictError);
  });

  it('never counts an order as conflicting with itself (updates may keep their time)', () => {
    expect(findConflict({ ...base, datetime: shifted('a', minutes(5)).datetime }, [base], THREE_HOURS)).toBeUndefined();
  });

  it('names the conflicting order in the error', () => {
    try {
      assertOutsideWindow(shifted('b', minutes(60)), [base], THREE_HOURS);
      expect.unreachable('should have thrown');
    } catch (error) {
      expect(error).toBeInstanceOf(OrderWindowConflictError);
      expect((error as OrderWindowConflictError).conflictingOrderId).toBe('a');
      expect((error as Error).message).toContain('180 minutes');
    }
  });

  it('compares instants, not wall-clock text: offsets are honoured', () => {
    const tokyo = at('2022-11-24T23:00:00+09:00'); // 14:00Z, 2h after base
    expect(isWithinWindow(base.datetime, tokyo, THREE_HOURS)).toBe(true);
    expect(isWithinWindow(base.datetime, at('2022-11-24T18:00:00+03:00'), THREE_HOURS)).toBe(false); // 15:00Z
  });

  it('uses the window length it is given', () => {
    const oneHour = windowMs(60);
    expect(findConflict(shifted('b', minutes(61)), [base], oneHour)).toBeUndefined();
    expect(findConflict(shifted('b', minutes(59)), [base], oneHour)?.id).toBe('a');
  });

  it('builds the open query range (datetime - window, datetime + window)', () => {
    expect(conflictRange(base.datetime, THREE_HOURS)).toEqual({
      after: at('2022-11-24T09:00:00Z'),
      before: at('2022-11-24T15:00:00Z'),
    });
  });
});

describe('window configuration', () => {
  it('defaults ORDER_WINDOW_MINUTES to 180', () => {
    expect(readConfig({}).orderWindowMinutes).toBe(180);
  });

  it('reads ORDER_WINDOW_MINUTES from the environment', () => {
    expect(readConfig({ ORDER_WINDOW_MINUTES: '90' }).orderWindowMinutes).toBe(90);
  });

  it.each(['0', '-5', '1.5', 'three hours', '1000000'])('refuses ORDER_WINDOW_MINUTES=%s', (value) => {
    expect(() => readConfig({ ORDER_WINDOW_MINUTES: value })).toThrow(/ORDER_WINDOW_MINUTES/);
  });
});

describe('window lock keys', () => {
  const oneDay = windowMs(24 * 60);
  // Stay a window inside the range a Date can hold.
  const instant = fc.integer({ min: -8.64e15 + oneDay, max: 8.64e15 - oneDay });
  const windowLength = fc.integer({ min: 1, max: 24 * 60 }).map(windowMs);

  it('gives every pair of conflicting orders a lock in common', () => {
    fc.assert(
      fc.property(instant, fc.integer({ min: 0, max: 1e9 }), windowLength, (t, delta, window) => {
        const distance = delta % window; // strictly less than one window apart
        const a = windowLockKeys(new Date(t), window);
        const b = windowLockKeys(new Date(t + distance), window);
        return a.some((key) => b.includes(key));
      }),
      { numRuns: 2_000 },
    );
  });

  it('agrees with the rule: orders with no lock in common never conflict', () => {
    fc.assert(
      fc.property(instant, instant, windowLength, (t1, t2, window) => {
        const a = windowLockKeys(new Date(t1), window);
        const b = windowLockKeys(new Date(t2), window);
        const shareLock = a.some((key) => b.includes(key));
        return shareLock || !isWithinWindow(new Date(t1), new Date(t2), window);
      }),
      { numRuns: 2_000 },
    );
  });

  it('keys locks by window length so different configurations never share one', () => {
    const t = base.datetime;
    expect(windowLockKeys(t, windowMs(180))).not.toContain(windowLockKeys(t, windowMs(120))[0]);
  });
});

describe('findConflict against a brute-force model', () => {
  it('finds a conflict exactly when some other order is less than a window away', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 48 * 60 }), { maxLength: 30 }),
        fc.integer({ min: 0, max: 48 * 60 }),
        (others, candidate) => {
          const orders = others.map((m, i) => ({ id: `o${i}`, datetime: new Date(minutes(m)) }));
          const found = findConflict({ id: 'new', datetime: new Date(minutes(candidate)) }, orders, THREE_HOURS);
          const expected = others.some((m) => Math.abs(m - candidate) < 180);
          return (found !== undefined) === expected;
        },
      ),
    );
  });
});
