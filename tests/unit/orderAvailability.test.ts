import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EARLIEST_API_DATETIME_MS, LATEST_API_DATETIME_MS } from '#lib/domain/datetime';
import {
  availabilityMaxSpan,
  findConflict,
  freeIntervals,
  nearestAvailable,
  nearestSearchSpan,
  type ScheduledOrder,
  windowMs,
} from '#lib/domain/orderWindow';

const RUNS = 500;
const BASE = Date.parse('2022-11-01T00:00:00.000Z');
const THREE_HOURS = windowMs(180);
const at = (ms: number) => new Date(ms);
const iso = (intervals: { start: Date; end: Date }[]) =>
  intervals.map(({ start, end }) => [start.toISOString(), end.toISOString()]);

/** The rule itself: would an order `id` at `ms` be accepted against `orders`? */
const accepted = (ms: number, orders: readonly ScheduledOrder[], window: number, id = 'candidate') =>
  findConflict({ id, datetime: at(ms) }, orders, window) === undefined;

/**
 * A window (small, so orders crowd and boundaries are hit often) and orders around BASE. Half the
 * offsets are whole windows from BASE, nudged by at most 1 ms, so exact-boundary cases come up.
 */
const scenario = fc.integer({ min: 1, max: 5_000 }).chain((window) =>
  fc.record({
    window: fc.constant(window),
    orders: fc
      .array(
        fc.oneof(
          fc.integer({ min: -60 * window, max: 60 * window }),
          fc
            .tuple(fc.integer({ min: -60, max: 60 }), fc.integer({ min: -1, max: 1 }))
            .map(([windows, nudge]) => windows * window + nudge),
        ),
        { maxLength: 40 },
      )
      .map((offsets) => offsets.map((offset, index) => ({ id: `o${index}`, datetime: at(BASE + offset) }))),
    from: fc.integer({ min: -70 * window, max: 70 * window }),
    length: fc.integer({ min: 1, max: 140 * window }),
    probes: fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 20, maxLength: 20 }),
  }),
);

/** Every instant where acceptance can change: each order's window edges and one millisecond inside them. */
const edges = (orders: readonly ScheduledOrder[], window: number) =>
  orders.flatMap(({ datetime }) => {
    const t = datetime.getTime();
    return [t - window, t - window + 1, t + window - 1, t + window];
  });

describe('free intervals of [from, to)', () => {
  it('the sample day: the gaps around three orders exactly 3 hours apart, ends included', () => {
    const orders = ['11:11:11.111', '14:11:11.111', '17:11:11.111'].map((time, index) => ({
      id: `22${3 + index}`,
      datetime: new Date(`2022-11-01T${time}Z`),
    }));
    const day = { from: new Date('2022-11-01T00:00:00Z'), to: new Date('2022-11-02T00:00:00Z') };
    expect(iso(freeIntervals(day, orders, THREE_HOURS))).toEqual([
      ['2022-11-01T00:00:00.000Z', '2022-11-01T08:11:11.111Z'],
      ['2022-11-01T20:11:11.111Z', '2022-11-01T23:59:59.999Z'],
    ]);
  });

  it('leaves exactly one instant between two orders two windows apart', () => {
    const orders = [
      { id: 'a', datetime: at(BASE) },
      { id: 'b', datetime: at(BASE + 2 * THREE_HOURS) },
    ];
    const range = { from: at(BASE), to: at(BASE + 2 * THREE_HOURS) };
    expect(freeIntervals(range, orders, THREE_HOURS)).toEqual([
      { start: at(BASE + THREE_HOURS), end: at(BASE + THREE_HOURS) },
    ]);
  });

  it('every instant inside a returned interval is accepted, every instant outside refused (property)', () => {
    fc.assert(
      fc.property(scenario, ({ window, orders, from, length, probes }) => {
        const first = BASE + from;
        const last = first + length - 1;
        const intervals = freeIntervals({ from: at(first), to: at(last + 1) }, orders, window);
        const inside = (ms: number) => intervals.some(({ start, end }) => start.getTime() <= ms && ms <= end.getTime());
        // In time order, within the range, and maximal: two intervals never touch.
        intervals.forEach(({ start, end }, index) => {
          expect(start.getTime()).toBeLessThanOrEqual(end.getTime());
          expect(start.getTime()).toBeGreaterThanOrEqual(first);
          expect(end.getTime()).toBeLessThanOrEqual(last);
          const previous = intervals[index - 1];
          if (previous) expect(start.getTime()).toBeGreaterThan(previous.end.getTime() + 1);
        });
        const candidates = [
          first,
          last,
          ...edges(orders, window),
          ...intervals.flatMap(({ start, end }) => [
            start.getTime() - 1,
            start.getTime(),
            end.getTime(),
            end.getTime() + 1,
          ]),
          ...probes.map((probe) => first + (probe % length)),
        ].filter((ms) => first <= ms && ms <= last);
        for (const ms of candidates) expect(inside(ms), `${ms - BASE}`).toBe(accepted(ms, orders, window));
      }),
      { numRuns: RUNS },
    );
  });

  it('ignores the order being moved, as the rule does (property)', () => {
    fc.assert(
      fc.property(scenario, ({ window, orders, from, length }) => {
        const range = { from: at(BASE + from), to: at(BASE + from + length) };
        const [moved, ...rest] = orders;
        fc.pre(moved !== undefined);
        expect(freeIntervals(range, orders, window, moved?.id)).toEqual(freeIntervals(range, rest, window));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('nearest available datetimes around a refused one', () => {
  it('the sample day: 12:00 is refused; the nearest are 08:11:11.111 and 20:11:11.111', () => {
    const orders = ['11:11:11.111', '14:11:11.111', '17:11:11.111'].map((time, index) => ({
      id: `22${3 + index}`,
      datetime: new Date(`2022-11-01T${time}Z`),
    }));
    const nearest = nearestAvailable({ id: 'new', datetime: new Date('2022-11-01T12:00:00Z') }, orders, THREE_HOURS);
    expect(nearest).toEqual({
      before: new Date('2022-11-01T08:11:11.111Z'),
      after: new Date('2022-11-01T20:11:11.111Z'),
    });
  });

  it('are accepted, and nothing strictly between them and the requested datetime is (property)', () => {
    fc.assert(
      fc.property(scenario, fc.integer({ min: -60, max: 60 }), ({ window, orders }, requestedWindows) => {
        const requested = BASE + requestedWindows * window;
        const candidate = { id: 'o0', datetime: at(requested) };
        const { before, after } = nearestAvailable(candidate, orders, window);
        const span = nearestSearchSpan(window);
        // Every instant where acceptance can change, plus the search's own ends.
        const points = [requested - span, requested - 1, requested + 1, requested + span, ...edges(orders, window)];
        const low = before ? before.getTime() : requested - span - 1;
        const high = after ? after.getTime() : requested + span + 1;
        if (before) {
          expect(before.getTime()).toBeLessThan(requested);
          expect(before.getTime()).toBeGreaterThanOrEqual(requested - span);
          expect(accepted(before.getTime(), orders, window, 'o0')).toBe(true);
        }
        if (after) {
          expect(after.getTime()).toBeGreaterThan(requested);
          expect(after.getTime()).toBeLessThanOrEqual(requested + span);
          expect(accepted(after.getTime(), orders, window, 'o0')).toBe(true);
        }
        for (const ms of points.filter(
          (point) => (low < point && point < requested) || (requested < point && point < high),
        )) {
          expect(accepted(ms, orders, window, 'o0'), `${ms - requested} from the request`).toBe(false);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('stay within the datetimes the API can write as RFC 3339', () => {
    const last = { id: 'x', datetime: at(LATEST_API_DATETIME_MS) };
    expect(nearestAvailable(last, [], THREE_HOURS)).toEqual({ before: at(LATEST_API_DATETIME_MS - 1) });
    const blocked = nearestAvailable({ id: 'y', datetime: at(LATEST_API_DATETIME_MS - 10) }, [last], THREE_HOURS);
    expect(blocked.after).toBeUndefined();
    expect(blocked.before).toEqual(at(LATEST_API_DATETIME_MS - THREE_HOURS));
    // A request just before year 0 (an offset can make one) is answered with year 0 at the earliest.
    const tooEarly = nearestAvailable({ id: 'z', datetime: at(EARLIEST_API_DATETIME_MS - 60_000) }, [], THREE_HOURS);
    expect(tooEarly).toEqual({ after: at(EARLIEST_API_DATETIME_MS) });
  });

  it('look a week each way at the default window, and at most 56 windows for shorter ones', () => {
    expect(nearestSearchSpan(THREE_HOURS)).toBe((7 * 24 * THREE_HOURS) / 3);
    expect(nearestSearchSpan(windowMs(60))).toBe(56 * windowMs(60));
    expect(availabilityMaxSpan(THREE_HOURS)).toBe(31 * 24 * 3_600_000);
    expect(availabilityMaxSpan(windowMs(60))).toBe(500 * windowMs(60));
  });
});
