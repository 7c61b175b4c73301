import { beforeAll, describe, expect, it } from 'vitest';
import { api, useApiDatabase } from '../support/api.ts';
import { SAMPLE_DAY as DAY, SAMPLE_DAY_AVAILABILITY, SAMPLE_ORDERS, SAMPLE_SERVICES } from '../support/samples.ts';

useApiDatabase('handlers_availability');

const order = (datetime: string, id?: string) => ({
  ...(id && { id }),
  datetime,
  totalfee: 1,
  services: [{ id: '123' }],
});

beforeAll(async () => {
  for (const service of SAMPLE_SERVICES) expect((await api.createService(service)).status).toBe(201);
  for (const sample of SAMPLE_ORDERS) expect((await api.createOrder(sample)).status).toBe(201);
});

describe('GET /orders/availability', () => {
  it('answers the gaps around the sample orders, ends included, and each start can be booked', async () => {
    const response = await api.orderAvailability(DAY);
    expect(response.status).toBe(200);
    expect(response.body).toEqual(SAMPLE_DAY_AVAILABILITY);
    const { intervals } = response.body as { intervals: { start: string; end: string }[] };
    for (const [index, { start, end }] of intervals.entries()) {
      const id = `avail-start-${index}`;
      expect((await api.createOrder(order(start, id))).status).toBe(201);
      expect((await api.deleteOrder(id)).status).toBe(204);
      // The end is bookable too, and one millisecond past it is not (when an order bounds it).
      expect((await api.createOrder(order(end, id))).status).toBe(201);
      expect((await api.deleteOrder(id)).status).toBe(204);
    }
    expect((await api.createOrder(order('2022-11-01T08:11:11.112Z'))).status).toBe(409);
  });

  it('answers no interval for a range the orders fill', async () => {
    const response = await api.orderAvailability({ from: '2022-11-01T09:00:00Z', to: '2022-11-01T20:00:00Z' });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ intervals: [] });
  });

  it('answers 31 days, and refuses a longer range, an empty one or a reversed one with 400 on /to', async () => {
    expect((await api.orderAvailability({ from: DAY.from, to: '2022-12-02T00:00:00Z' })).status).toBe(200);
    for (const to of ['2022-12-02T00:00:00.001Z', DAY.from, '2022-10-31T00:00:00Z']) {
      const response = await api.orderAvailability({ from: DAY.from, to });
      expect(response.status, to).toBe(400);
      expect(response.body).toMatchObject({ errors: [{ in: 'query', pointer: '/to' }] });
    }
  });

  it('answers 400 for a bound an offset pushes out of years 0000 to 9999 in UTC', async () => {
    for (const [pointer, query] of [
      ['/from', { from: '0000-01-01T00:00:00+01:00', to: '0000-01-02T00:00:00Z' }],
      ['/to', { from: '9999-12-31T00:00:00Z', to: '9999-12-31T23:00:00-02:00' }],
    ] as const) {
      const response = await api.orderAvailability(query);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ errors: [{ in: 'query', pointer }] });
    }
    const lastDay = await api.orderAvailability({ from: '9999-12-31T00:00:00Z', to: '9999-12-31T23:59:59.999Z' });
    expect(lastDay.body).toMatchObject({ intervals: [{ end: '9999-12-31T23:59:59.998Z' }] });
  });

  it('answers 400 for a missing bound, a bad datetime or an unknown parameter', async () => {
    for (const query of [{}, { from: DAY.from }, { from: 'yesterday', to: DAY.to }, { ...DAY, limit: '10' }] as Record<
      string,
      string
    >[]) {
      const response = await api.orderAvailability(query);
      expect(response.status, JSON.stringify(query)).toBe(400);
      expect(response.headers['content-type']).toBe('application/problem+json');
    }
  });

  it('refuses to create an order with the id the route takes, which GET /orders/{id} could never reach', async () => {
    const response = await api.createOrder(order('2022-11-20T00:00:00Z', 'availability'));
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ errors: [{ in: 'body', pointer: '/id' }] });
  });
});

describe('the window-conflict 409', () => {
  it('names the nearest accepted datetimes, and the same request at nearestAvailable.after is created', async () => {
    const refused = await api.createOrder(order('2022-11-01T12:00:00Z'));
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({
      type: '/problems/order-window-conflict',
      conflictingOrderId: '223',
      nearestAvailable: { before: '2022-11-01T08:11:11.111Z', after: '2022-11-01T20:11:11.111Z' },
    });
    const { after } = (refused.body as { nearestAvailable: { after: string } }).nearestAvailable;
    const created = await api.createOrder(order(after, 'avail-after'));
    expect(created.status).toBe(201);
    expect((await api.deleteOrder('avail-after')).status).toBe(204);
  });

  it('ignores the order being moved: its own slot is the nearest after', async () => {
    const refused = await api.updateOrder('224', {
      ...SAMPLE_ORDERS[1],
      id: undefined,
      datetime: '2022-11-01T12:30:00Z',
    });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({
      conflictingOrderId: '223',
      nearestAvailable: { before: '2022-11-01T08:11:11.111Z', after: '2022-11-01T14:11:11.111Z' },
    });
  });

  it('leaves out a side the bounded search (a week each way) finds nothing on', async () => {
    // Orders every 3 hours from 8 days before a new instant to 8 days after it: no gap within a week.
    const start = Date.parse('2023-03-01T00:00:00Z');
    for (let index = 0; index <= 16 * 8; index += 1) {
      const datetime = new Date(start + index * 3 * 3_600_000).toISOString();
      expect((await api.createOrder(order(datetime, `chain-${index}`))).status).toBe(201);
    }
    const refused = await api.createOrder(order(new Date(start + 8 * 24 * 3_600_000 + 60_000).toISOString()));
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ conflictingOrderId: expect.stringMatching(/^chain-/) });
    expect((refused.body as { nearestAvailable: unknown }).nearestAvailable).toEqual({});
  });
});
