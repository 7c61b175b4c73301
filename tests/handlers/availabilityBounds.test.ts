/**
 * Orders just outside the range asked about still shape the answer: GET /orders/availability reads
 * one window beyond each bound, and the 409's nearestAvailable one window beyond its search.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { api, useApiDatabase } from '../support/api.ts';

useApiDatabase('handlers_availability_bounds');

const HOUR = 3_600_000;
const WINDOW = 3 * HOUR;
/** How far nearestAvailable looks each way at the default window: a week. */
const SEARCH_SPAN = 7 * 24 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();
const order = (datetime: number, id?: string) => ({
  ...(id && { id }),
  datetime: iso(datetime),
  totalfee: 1,
  services: [{ id: 'svc' }],
});

beforeAll(async () => {
  expect((await api.createService({ id: 'svc', name: 'Service' })).status).toBe(201);
});

/** Books `datetime` (and removes it again) or answers the refusal's status. */
async function bookingStatus(datetime: number): Promise<number> {
  const created = await api.createOrder(order(datetime, 'probe'));
  if (created.status === 201) expect((await api.deleteOrder('probe')).status).toBe(204);
  return created.status;
}

describe('GET /orders/availability near its bounds', () => {
  it('counts an order less than 3 h before `from`: the first interval starts 3 h after it', async () => {
    const from = Date.parse('2036-01-10T12:00:00Z');
    expect((await api.createOrder(order(from - 2 * HOUR, 'before-from'))).status).toBe(201);
    const response = await api.orderAvailability({ from: iso(from), to: iso(from + 12 * HOUR) });
    expect(response.status).toBe(200);
    expect((response.body as { intervals: unknown }).intervals).toEqual([
      { start: iso(from + HOUR), end: iso(from + 12 * HOUR - 1) },
    ]);
    expect(await bookingStatus(from + HOUR)).toBe(201);
    expect(await bookingStatus(from + HOUR - 1)).toBe(409);
  });

  it('counts an order less than 3 h after `to`: the last interval ends 3 h before it', async () => {
    const to = Date.parse('2036-03-10T12:00:00Z');
    expect((await api.createOrder(order(to + 2 * HOUR, 'after-to'))).status).toBe(201);
    const response = await api.orderAvailability({ from: iso(to - 12 * HOUR), to: iso(to) });
    expect(response.status).toBe(200);
    expect((response.body as { intervals: unknown }).intervals).toEqual([
      { start: iso(to - 12 * HOUR), end: iso(to - HOUR) },
    ]);
    expect(await bookingStatus(to - HOUR)).toBe(201);
    expect(await bookingStatus(to - HOUR + 1)).toBe(409);
  });
});

describe("the 409's nearestAvailable near the end of its search", () => {
  /**
   * Orders every 3 h from `requested` for 55 windows (no instant free between them), so the first
   * instant the search (a week) could offer on that side is its very end, `requested ± SEARCH_SPAN`;
   * and one more order less than a window beyond that end, which refuses it.
   */
  async function chainToTheSearchEnd(requested: number, direction: 1 | -1, prefix: string): Promise<void> {
    for (let k = 0; k <= 55; k += 1) {
      expect((await api.createOrder(order(requested + direction * k * WINDOW, `${prefix}-${k}`))).status).toBe(201);
    }
    const beyond = requested + direction * (SEARCH_SPAN + HOUR);
    expect((await api.createOrder(order(beyond, `${prefix}-beyond`))).status).toBe(201);
  }

  for (const [direction, free, found, prefix] of [
    [1, 'after', 'before', 'later'],
    [-1, 'before', 'after', 'earlier'],
  ] as const) {
    it(`suggests no ${free} when an order just past the search end refuses it, and the ${found} it suggests can be booked`, async () => {
      const requested = Date.parse(direction === 1 ? '2036-06-01T00:00:00Z' : '2036-09-01T00:00:00Z');
      await chainToTheSearchEnd(requested, direction, prefix);
      const refused = await api.createOrder(order(requested));
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ conflictingOrderId: `${prefix}-0` });
      const nearest = (refused.body as { nearestAvailable: Record<string, string> }).nearestAvailable;
      // Nothing is free on the chained side within the week; exactly one window away on the other.
      expect(nearest).toEqual({ [found]: iso(requested - direction * WINDOW) });
      for (const suggested of Object.values(nearest)) expect(await bookingStatus(Date.parse(suggested))).toBe(201);
    });
  }
});
