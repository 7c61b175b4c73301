import { beforeAll, describe, expect, it } from 'vitest';
import { api, collectAllIds, useApiDatabase } from '../support/api.ts';
import { SAMPLE_SERVICES } from '../support/samples.ts';

useApiDatabase('handlers_orders');

const HOUR = 3_600_000;
let nextSlot = Date.parse('2030-01-01T00:00:00Z');
/** A fresh instant far from every other test's orders. */
function freeSlot(): Date {
  nextSlot += 10 * 24 * HOUR;
  return new Date(nextSlot);
}
const iso = (date: Date, offsetMs = 0) => new Date(date.getTime() + offsetMs).toISOString();

beforeAll(async () => {
  for (const service of SAMPLE_SERVICES) expect((await api.createService(service)).status).toBe(201);
});

describe('POST /orders', () => {
  it('creates the assignment sample order and answers it in UTC', async () => {
    const response = await api.createOrder({
      id: 223,
      datetime: '2022-11-24T12:00:00+02:00',
      totalfee: 100,
      services: [{ id: '123' }],
    });
    expect(response.status).toBe(201);
    expect(response.headers.location).toBe('/orders/223');
    expect(response.body).toEqual({
      id: '223',
      datetime: '2022-11-24T10:00:00.000Z',
      totalfee: 100,
      services: [{ id: '123' }],
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
  });

  it('refuses the other two sample orders at the same datetime with 409 naming order 223', async () => {
    for (const id of [224, 225]) {
      const response = await api.createOrder({
        id,
        datetime: '2022-11-24T12:00:00+02:00',
        totalfee: 100,
        services: [{ id: '789' }],
      });
      expect(response.status).toBe(409);
      expect(response.headers['content-type']).toBe('application/problem+json');
      expect(response.body).toMatchObject({
        type: '/problems/order-window-conflict',
        status: 409,
        conflictingOrderId: '223',
        detail: expect.stringContaining('223'),
      });
      expect((await api.getOrder(String(id))).status).toBe(404);
    }
  });

  it('rejects an order 2h59m after another and accepts one exactly 3h after', async () => {
    const slot = freeSlot();
    expect(
      (await api.createOrder({ id: 'w-base', datetime: iso(slot), totalfee: 1, services: [{ id: '123' }] })).status,
    ).toBe(201);
    const tooClose = await api.createOrder({
      datetime: iso(slot, 3 * HOUR - 60_000),
      totalfee: 1,
      services: [{ id: '123' }],
    });
    expect(tooClose.status).toBe(409);
    expect(tooClose.body).toMatchObject({ conflictingOrderId: 'w-base' });
    const before = await api.createOrder({
      datetime: iso(slot, -(3 * HOUR - 1)),
      totalfee: 1,
      services: [{ id: '123' }],
    });
    expect(before.status).toBe(409);
    const exactly = await api.createOrder({ datetime: iso(slot, 3 * HOUR), totalfee: 1, services: [{ id: '123' }] });
    expect(exactly.status).toBe(201);
    const exactlyBefore = await api.createOrder({
      datetime: iso(slot, -3 * HOUR),
      totalfee: 1,
      services: [{ id: '123' }],
    });
    expect(exactlyBefore.status).toBe(201);
  });

  it('answers 422 naming every service that does not exist, and stores nothing', async () => {
    const response = await api.createOrder({
      id: 'ord-422',
      datetime: iso(freeSlot()),
      totalfee: 5,
      services: [{ id: '123' }, { id: 'nope-1' }, { id: 'nope-2' }],
    });
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({ status: 422, missingServiceIds: ['nope-1', 'nope-2'] });
    expect((await api.getOrder('ord-422')).status).toBe(404);
  });

  it('answers 409 for an id that exists', async () => {
    const body = { id: 'ord-dup', datetime: iso(freeSlot()), totalfee: 5, services: [{ id: '123' }] };
    expect((await api.createOrder(body)).status).toBe(201);
    const again = await api.createOrder({ ...body, datetime: iso(freeSlot()) });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ type: '/problems/duplicate-id' });
  });

  it('answers 400 pointing at a service listed twice', async () => {
    const response = await api.createOrder({
      datetime: iso(freeSlot()),
      totalfee: 5,
      services: [{ id: '123' }, { id: '123' }],
    });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      errors: [{ in: 'body', pointer: '/services/1', detail: 'repeats /services/0' }],
    });
  });

  it('answers 400, not a crash, for a body nested thousands of levels deep', async () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const response = await api.createOrder(
      `{"datetime":"2040-01-01T00:00:00Z","totalfee":1,"services":[${deep},${deep}]}`,
    );
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      type: '/problems/malformed-json',
      detail: expect.stringContaining('nested'),
    });
  });

  it('answers 400 for totalFee instead of totalfee', async () => {
    const response = await api.createOrder({ datetime: iso(freeSlot()), totalFee: 5, services: [{ id: '123' }] });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      errors: expect.arrayContaining([{ in: 'body', pointer: '/totalFee', detail: 'is not a known field' }]),
    });
  });

  it('answers 400 for a leap second the runtime cannot store', async () => {
    const response = await api.createOrder({
      datetime: '2016-12-31T23:59:60Z',
      totalfee: 5,
      services: [{ id: '123' }],
    });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ errors: [expect.objectContaining({ pointer: '/datetime' })] });
  });
});

describe('GET /orders/{id}', () => {
  it('answers the stored order', async () => {
    const created = await api.createOrder({
      id: 'ord-get',
      datetime: iso(freeSlot()),
      totalfee: 12.5,
      services: [{ id: '456' }],
    });
    const response = await api.getOrder('ord-get');
    expect(response.status).toBe(200);
    expect(response.body).toEqual(created.body);
  });

  it('answers 404 for an unknown order', async () => {
    expect((await api.getOrder('ord-missing')).status).toBe(404);
  });
});

describe('PUT /orders/{id}', () => {
  it('moves an order within its own window (never conflicts with itself)', async () => {
    const slot = freeSlot();
    await api.createOrder({ id: 'ord-move', datetime: iso(slot), totalfee: 1, services: [{ id: '123' }] });
    const response = await api.updateOrder('ord-move', {
      datetime: iso(slot, HOUR),
      totalfee: 2,
      services: [{ id: '789' }, { id: '456' }],
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      id: 'ord-move',
      datetime: iso(slot, HOUR),
      totalfee: 2,
      services: [{ id: '789' }, { id: '456' }],
    });
    expect((await api.getOrder('ord-move')).body).toEqual(response.body);
  });

  it("refuses a move into another order's window with 409 and leaves the order as it was", async () => {
    const slot = freeSlot();
    await api.createOrder({ id: 'ord-a', datetime: iso(slot), totalfee: 1, services: [{ id: '123' }] });
    const b = await api.createOrder({
      id: 'ord-b',
      datetime: iso(slot, 5 * HOUR),
      totalfee: 1,
      services: [{ id: '123' }],
    });
    const response = await api.updateOrder('ord-b', {
      datetime: iso(slot, 2 * HOUR),
      totalfee: 1,
      services: [{ id: '123' }],
    });
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({ conflictingOrderId: 'ord-a' });
    expect((await api.getOrder('ord-b')).body).toEqual(b.body);
  });

  it('answers 404 for an unknown order and 422 for unknown services', async () => {
    expect(
      (await api.updateOrder('ord-nope', { datetime: iso(freeSlot()), totalfee: 1, services: [{ id: '123' }] })).status,
    ).toBe(404);
    await api.createOrder({ id: 'ord-422-put', datetime: iso(freeSlot()), totalfee: 1, services: [{ id: '123' }] });
    const response = await api.updateOrder('ord-422-put', {
      datetime: iso(freeSlot()),
      totalfee: 1,
      services: [{ id: 'ghost' }],
    });
    expect(response.status).toBe(422);
    expect(response.body).toMatchObject({ missingServiceIds: ['ghost'] });
  });
});

describe('DELETE /orders/{id}', () => {
  it('answers 204, frees the slot and then 404', async () => {
    const slot = freeSlot();
    await api.createOrder({ id: 'ord-del', datetime: iso(slot), totalfee: 1, services: [{ id: '123' }] });
    expect((await api.deleteOrder('ord-del')).status).toBe(204);
    expect((await api.deleteOrder('ord-del')).status).toBe(404);
    expect((await api.createOrder({ datetime: iso(slot, HOUR), totalfee: 1, services: [{ id: '123' }] })).status).toBe(
      201,
    );
  });
});

describe('GET /orders', () => {
  it('lists in datetime order, filters [from, to) and pages every item exactly once', async () => {
    const start = freeSlot();
    const ids = Array.from({ length: 9 }, (_, i) => `list-${i}`);
    // Created out of order on purpose: the list sorts by datetime, not by insertion.
    for (const i of [4, 1, 7, 0, 8, 2, 6, 3, 5]) {
      const created = await api.createOrder({
        id: ids[i],
        datetime: iso(start, i * 4 * HOUR),
        totalfee: i,
        services: [{ id: '123' }],
      });
      expect(created.status).toBe(201);
    }
    const all = await collectAllIds(api.listOrders, { limit: '2', from: iso(start), to: iso(start, 9 * 4 * HOUR) });
    expect(all).toEqual(ids);
    const window = await collectAllIds(api.listOrders, { from: iso(start, 4 * HOUR), to: iso(start, 12 * HOUR) });
    expect(window).toEqual(['list-1', 'list-2']);
  });

  it('answers 400 for a bad date, limit or cursor', async () => {
    const queries: Record<string, string>[] = [
      { from: 'yesterday' },
      { to: '2022-01-01' },
      { limit: '-1' },
      { cursor: 'WyJ4Il0' },
      { cursor: '!!' },
    ];
    for (const query of queries) {
      const response = await api.listOrders(query);
      expect(response.status, JSON.stringify(query)).toBe(400);
      expect(response.headers['content-type']).toBe('application/problem+json');
    }
  });
});
