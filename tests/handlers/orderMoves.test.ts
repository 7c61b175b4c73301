/**
 * The 3-hour rule on a move (PUT /orders/{id}): the order being moved is left out of the
 * neighbour search, and only it; a real neighbour is still seen, whatever sorts first.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { api, useApiDatabase } from '../support/api.ts';

useApiDatabase('handlers_moves');

const HOUR = 3_600_000;
const WINDOW = 3 * HOUR;
let nextSlot = Date.parse('2031-01-01T00:00:00Z');
/** A fresh instant far from every other test's orders. */
function freeSlot(): number {
  nextSlot += 10 * 24 * HOUR;
  return nextSlot;
}
const iso = (ms: number) => new Date(ms).toISOString();
const order = (datetime: number, totalfee = 1) => ({ datetime: iso(datetime), totalfee, services: [{ id: 'svc' }] });

beforeAll(async () => {
  expect((await api.createService({ id: 'svc', name: 'Service' })).status).toBe(201);
});

describe('PUT /orders/{id} under the 3-hour rule', () => {
  it('refuses a move whose old slot sorts first in its new conflict range when a real neighbour is there', async () => {
    const slot = freeSlot();
    // The moved order comes first by datetime, by _id and by insertion, so a neighbour search that
    // did not leave it out and stopped at its first hit would find only the order itself.
    expect((await api.createOrder({ id: 'a-moved', ...order(slot) })).status).toBe(201);
    expect((await api.createOrder({ id: 'b-neighbour', ...order(slot + 2 * HOUR + WINDOW) })).status).toBe(201);
    // New slot: 2 h after its old one (inside the new range) and 3 h less 1 ms before the neighbour.
    const moved = await api.updateOrder('a-moved', order(slot + 2 * HOUR + 1, 2));
    expect(moved.status).toBe(409);
    expect(moved.body).toMatchObject({ conflictingOrderId: 'b-neighbour' });
    expect((await api.getOrder('a-moved')).body).toMatchObject({ datetime: iso(slot), totalfee: 1 });
  });

  it('accepts a PUT that keeps its datetime and changes the rest, next to neighbours exactly 3 h away', async () => {
    const slot = freeSlot();
    expect((await api.createOrder({ id: 'before', ...order(slot - WINDOW) })).status).toBe(201);
    expect((await api.createOrder({ id: 'kept', ...order(slot) })).status).toBe(201);
    expect((await api.createOrder({ id: 'after', ...order(slot + WINDOW) })).status).toBe(201);
    const kept = await api.updateOrder('kept', { ...order(slot, 42), services: [{ id: 'svc' }] });
    expect(kept.status).toBe(200);
    expect(kept.body).toMatchObject({ id: 'kept', datetime: iso(slot), totalfee: 42 });
    expect((await api.getOrder('kept')).body).toMatchObject({ datetime: iso(slot), totalfee: 42 });
  });

  it('accepts a move to exactly 3 h from a neighbour on either side, and refuses one 1 ms closer', async () => {
    const slot = freeSlot();
    expect((await api.createOrder({ id: 'anchor', ...order(slot) })).status).toBe(201);
    expect((await api.createOrder({ id: 'mover', ...order(slot + 10 * WINDOW) })).status).toBe(201);
    for (const offset of [WINDOW - 1, -(WINDOW - 1)]) {
      const refused = await api.updateOrder('mover', order(slot + offset));
      expect(refused.status, `${offset} ms from the anchor`).toBe(409);
      expect(refused.body).toMatchObject({ conflictingOrderId: 'anchor' });
    }
    for (const offset of [WINDOW, -WINDOW]) {
      const moved = await api.updateOrder('mover', order(slot + offset));
      expect(moved.status, `${offset} ms from the anchor`).toBe(200);
      expect(moved.body).toMatchObject({ datetime: iso(slot + offset) });
    }
  });
});
