/**
 * What the order and service repositories (lib/db) do to the documents around the one a request
 * names, and what their refusals say: a write touches only its own documents, lists come in the
 * order they promise whatever order things were created in, and every 404 and 412 names the
 * resource and id. Runs on 8.0 and again on 7.0 (vitest.config.ts): the two paths differ in lib/db.
 */
import { describe, expect, it } from 'vitest';
import { api, useApiDatabase } from '../support/api.ts';

useApiDatabase('handlers_repository_effects');

/** The If-Match header, when the request sends one. */
const ifMatchHeader = (ifMatch?: string) => (ifMatch ? { 'if-match': ifMatch } : undefined);
const putService = (id: string, name: string, ifMatch?: string) =>
  api.updateService(id, { name }, ifMatchHeader(ifMatch));
const deleteService = (id: string, ifMatch?: string) => api.deleteService(id, ifMatchHeader(ifMatch));
const putOrder = (id: string, body: unknown, ifMatch?: string) => api.updateOrder(id, body, ifMatchHeader(ifMatch));
const deleteOrder = (id: string, ifMatch?: string) => api.deleteOrder(id, ifMatchHeader(ifMatch));

describe('a write touches only the documents it names', () => {
  it('deletes the one service named, with its own version, while other services and orders exist', async () => {
    // Created first, renamed (version 2) and referenced by an order: everything the delete must leave alone.
    expect((await api.createService({ id: 'del-a-kept', name: 'Kept' })).status).toBe(201);
    expect((await putService('del-a-kept', 'Kept, renamed')).status).toBe(200);
    expect((await api.createService({ id: 'del-b-gone', name: 'Gone' })).status).toBe(201);
    const order = { datetime: '2071-01-01T00:00:00.000Z', totalfee: 1, services: [{ id: 'del-a-kept' }] };
    expect((await api.createOrder(order)).status).toBe(201);

    expect((await deleteService('del-b-gone', '"1"')).status).toBe(204);
    expect((await api.getService('del-b-gone')).status).toBe(404);
    const kept = await api.getService('del-a-kept');
    expect(kept.status).toBe(200);
    expect(kept.body).toMatchObject({ id: 'del-a-kept', name: 'Kept, renamed' });
    expect(kept.headers.etag).toBe('"2"');
  });

  it('leaves the services an order references as they were (name and version)', async () => {
    expect((await api.createService({ id: 'ref-svc', name: 'Referenced' })).status).toBe(201);
    const created = await api.createOrder({
      id: 'ref-order',
      datetime: '2072-01-01T00:00:00.000Z',
      totalfee: 1,
      services: [{ id: 'ref-svc' }],
    });
    expect(created.status).toBe(201);
    const moved = await putOrder('ref-order', {
      datetime: '2072-02-01T00:00:00.000Z',
      totalfee: 1,
      services: [{ id: 'ref-svc' }],
    });
    expect(moved.status).toBe(200);
    const service = await api.getService('ref-svc');
    expect(service.body).toMatchObject({ id: 'ref-svc', name: 'Referenced' });
    expect(service.headers.etag).toBe('"1"');
  });

  it('an edit in place (same datetime) keeps createdAt and counts the version on from the stored one', async () => {
    expect((await api.createService({ id: 'edit-svc', name: 'Edited' })).status).toBe(201);
    const body = { datetime: '2073-01-01T00:00:00.000Z', totalfee: 1, services: [{ id: 'edit-svc' }] };
    const created = await api.createOrder({ id: 'edit-order', ...body });
    expect(created.status).toBe(201);
    const { createdAt } = created.body as { createdAt: string };
    for (const [totalfee, version] of [
      [2, '"2"'],
      [3, '"3"'],
    ] as const) {
      const edited = await putOrder('edit-order', { ...body, totalfee });
      expect(edited.status).toBe(200);
      expect(edited.headers.etag).toBe(version);
      expect(edited.body).toMatchObject({ id: 'edit-order', totalfee, datetime: body.datetime, createdAt });
    }
    const stored = await api.getOrder('edit-order');
    expect(stored.headers.etag).toBe('"3"');
    expect(stored.body).toMatchObject({ totalfee: 3, createdAt, services: [{ id: 'edit-svc' }] });
  });
});

describe('lists come in the order they promise, whatever the creation order', () => {
  it('lists services by id, one page at the limit, though created in reverse', async () => {
    for (const id of ['list-svc-3', 'list-svc-2', 'list-svc-1']) {
      expect((await api.createService({ id, name: id })).status).toBe(201);
    }
    const listIds = async (limit: string) => {
      const page = await api.listServices({ limit });
      expect(page.status).toBe(200);
      return (page.body as { items: { id: string }[] }).items.map((item) => item.id);
    };
    const all = await listIds('100');
    expect(all).toEqual([...all].sort());
    expect(all.filter((id) => id.startsWith('list-svc-'))).toEqual(['list-svc-1', 'list-svc-2', 'list-svc-3']);
    expect(await listIds('2')).toEqual(all.slice(0, 2));
  });

  it('lists orders by datetime, though created latest first', async () => {
    expect((await api.createService({ id: 'list-order-svc', name: 'x' })).status).toBe(201);
    const datetimes = ['2074-01-03T00:00:00.000Z', '2074-01-02T00:00:00.000Z', '2074-01-01T00:00:00.000Z'];
    for (const datetime of datetimes) {
      expect((await api.createOrder({ datetime, totalfee: 1, services: [{ id: 'list-order-svc' }] })).status).toBe(201);
    }
    const page = await api.listOrders({ from: '2074-01-01T00:00:00.000Z', to: '2074-02-01T00:00:00.000Z', limit: '2' });
    expect(page.status).toBe(200);
    const listed = (page.body as { items: { datetime: string }[] }).items.map((item) => item.datetime);
    expect(listed).toEqual([datetimes[2], datetimes[1]]);
  });
});

describe('order lists without a range, or open at one end', () => {
  const listDatetimes = async (query: Record<string, string>) => {
    const page = await api.listOrders(query);
    expect(page.status).toBe(200);
    return (page.body as { items: { datetime: string }[] }).items.map((item) => item.datetime);
  };

  it('lists every order by datetime with no range, from a start with no end, and to an end with no start', async () => {
    expect((await api.createService({ id: 'open-range-svc', name: 'x' })).status).toBe(201);
    const late = '2076-01-02T00:00:00.000Z';
    const early = '2076-01-01T00:00:00.000Z';
    for (const datetime of [late, early]) {
      const created = await api.createOrder({ datetime, totalfee: 1, services: [{ id: 'open-range-svc' }] });
      expect(created.status).toBe(201);
    }
    // Before 1970 too: a bound of the epoch (an invalid Date's encoding) would lose it.
    const past = '1969-07-20T20:17:00.000Z';
    expect((await api.createOrder({ datetime: past, totalfee: 1, services: [{ id: 'open-range-svc' }] })).status).toBe(
      201,
    );
    const all = await listDatetimes({ limit: '100' });
    expect(all).toEqual([...all].sort());
    expect(all).toEqual(expect.arrayContaining([past, early, late]));
    expect(await listDatetimes({ from: early, limit: '100' })).toEqual([early, late]);
    expect(await listDatetimes({ to: late, limit: '100' })).toEqual(all.filter((datetime) => datetime < late));
  });
});

describe('refusals name the resource and the id', () => {
  it('services: 404 on GET, PUT and DELETE of a missing id, 412 on a stale PUT or DELETE', async () => {
    const missing = { status: 404, detail: "No service with id 'no-such-svc'" };
    expect((await api.getService('no-such-svc')).body).toMatchObject(missing);
    expect((await putService('no-such-svc', 'x')).body).toMatchObject(missing);
    expect((await putService('no-such-svc', 'x', '"1"')).body).toMatchObject(missing);
    expect((await deleteService('no-such-svc')).body).toMatchObject(missing);

    expect((await api.createService({ id: 'stale-svc', name: 'v1' })).status).toBe(201);
    const stale = {
      status: 412,
      detail: "The service 'stale-svc' has changed (it is now at version 1); fetch it again and retry",
    };
    expect((await putService('stale-svc', 'x', '"3"')).body).toMatchObject(stale);
    expect((await deleteService('stale-svc', '"3"')).body).toMatchObject(stale);
  });

  it('orders: 404 on PUT and DELETE of a missing id, 412 on a stale PUT or DELETE', async () => {
    expect((await api.createService({ id: 'refusal-svc', name: 'x' })).status).toBe(201);
    const body = { datetime: '2075-01-01T00:00:00.000Z', totalfee: 1, services: [{ id: 'refusal-svc' }] };
    const missing = { status: 404, detail: "No order with id 'no-such-order'" };
    expect((await putOrder('no-such-order', body)).body).toMatchObject(missing);
    expect((await deleteOrder('no-such-order')).body).toMatchObject(missing);
    expect((await deleteOrder('no-such-order', '"1"')).body).toMatchObject(missing);

    expect((await api.createOrder({ id: 'stale-order', ...body })).status).toBe(201);
    const stale = {
      status: 412,
      detail: "The order 'stale-order' has changed (it is now at version 1); fetch it again and retry",
    };
    expect((await putOrder('stale-order', body, '"3"')).body).toMatchObject(stale);
    expect((await deleteOrder('stale-order', '"3"')).body).toMatchObject(stale);
  });

  it('a replace naming missing services lists only those, and leaves the order unchanged', async () => {
    expect((await api.createService({ id: 'replace-422-svc', name: 'x' })).status).toBe(201);
    const body = { datetime: '2077-01-01T00:00:00.000Z', totalfee: 1, services: [{ id: 'replace-422-svc' }] };
    expect((await api.createOrder({ id: 'replace-422', ...body })).status).toBe(201);
    const refused = await putOrder('replace-422', {
      ...body,
      totalfee: 2,
      services: [{ id: 'replace-422-svc' }, { id: 'gone-1' }, { id: 'gone-2' }],
    });
    expect(refused.body).toMatchObject({ status: 422, missingServiceIds: ['gone-1', 'gone-2'] });
    const stored = await api.getOrder('replace-422');
    expect(stored.headers.etag).toBe('"1"');
    expect(stored.body).toMatchObject({ totalfee: 1, services: [{ id: 'replace-422-svc' }] });
  });
});
