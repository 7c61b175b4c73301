import { describe, expect, it } from 'vitest';
import { api, collectAllIds, useApiDatabase } from '../support/api.ts';

useApiDatabase('handlers_services');

const isoInstant = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('POST /services', () => {
  it('creates a service with a client id and answers 201 with Location', async () => {
    const response = await api.createService({ id: 'svc-create-1', name: 'Inspection' });
    expect(response.status).toBe(201);
    expect(response.headers.location).toBe('/services/svc-create-1');
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.body).toEqual({
      id: 'svc-create-1',
      name: 'Inspection',
      createdAt: expect.stringMatching(isoInstant),
      updatedAt: expect.stringMatching(isoInstant),
    });
  });

  it('turns an integer id into its decimal string', async () => {
    const response = await api.createService({ id: 9123, name: 'Testing' });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ id: '9123' });
    expect((await api.getService('9123')).status).toBe(200);
  });

  it('makes an id when the client sends none', async () => {
    const response = await api.createService({ name: 'Analysis' });
    expect(response.status).toBe(201);
    const { id } = response.body as { id: string };
    expect(id).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(response.headers.location).toBe(`/services/${id}`);
  });

  it('answers 409 for an id that exists, and keeps the first', async () => {
    await api.createService({ id: 'svc-dup', name: 'First' });
    const again = await api.createService({ id: 'svc-dup', name: 'Second' });
    expect(again.status).toBe(409);
    expect(again.headers['content-type']).toBe('application/problem+json');
    expect(again.body).toMatchObject({ status: 409, type: '/problems/duplicate-id' });
    expect((await api.getService('svc-dup')).body).toMatchObject({ name: 'First' });
  });

  it('answers 400 naming each bad field', async () => {
    const response = await api.createService({ name: '', colour: 'red' });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({
      type: '/problems/validation-error',
      status: 400,
      errors: expect.arrayContaining([
        expect.objectContaining({ in: 'body', pointer: '/colour' }),
        expect.objectContaining({ in: 'body', pointer: '/name' }),
      ]),
    });
  });
});

describe('GET /services/{id}', () => {
  it('answers 404 as problem+json for an unknown id', async () => {
    const response = await api.getService('no-such-service');
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.body).toMatchObject({ status: 404, title: 'Resource not found', detail: expect.any(String) });
  });

  it('answers 400 for a path id that cannot be an id', async () => {
    const response = await api.getService('$where');
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ errors: [expect.objectContaining({ in: 'path', pointer: '/id' })] });
  });
});

describe('PUT /services/{id}', () => {
  it('replaces the name, keeps createdAt and moves updatedAt', async () => {
    const created = (await api.createService({ id: 'svc-put', name: 'Old' })).body as Record<string, string>;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const response = await api.updateService('svc-put', { name: 'New' });
    expect(response.status).toBe(200);
    const updated = response.body as Record<string, string>;
    expect(updated).toMatchObject({ id: 'svc-put', name: 'New', createdAt: created.createdAt });
    expect(Date.parse(updated.updatedAt ?? '')).toBeGreaterThan(Date.parse(created.updatedAt ?? ''));
    expect((await api.getService('svc-put')).body).toEqual(updated);
  });

  it('answers 404 for an unknown service', async () => {
    expect((await api.updateService('svc-missing', { name: 'x' })).status).toBe(404);
  });

  it('answers 400 when the body names another id', async () => {
    await api.createService({ id: 'svc-put-id', name: 'x' });
    const response = await api.updateService('svc-put-id', { id: 'other', name: 'y' });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ errors: [expect.objectContaining({ pointer: '/id' })] });
  });
});

describe('DELETE /services/{id}', () => {
  it('answers 204 and the service is gone', async () => {
    await api.createService({ id: 'svc-del', name: 'x' });
    const response = await api.deleteService('svc-del');
    expect(response.status).toBe(204);
    expect(response.rawBody).toBeUndefined();
    expect((await api.getService('svc-del')).status).toBe(404);
    expect((await api.deleteService('svc-del')).status).toBe(404);
  });

  it('answers 409 while an order references the service', async () => {
    await api.createService({ id: 'svc-used', name: 'x' });
    const order = await api.createOrder({
      id: 'ord-uses-svc',
      datetime: '2031-01-01T00:00:00Z',
      totalfee: 1,
      services: [{ id: 'svc-used' }],
    });
    expect(order.status).toBe(201);
    const response = await api.deleteService('svc-used');
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({
      type: '/problems/service-in-use',
      detail: expect.stringContaining('ord-uses-svc'),
    });
    expect((await api.getService('svc-used')).status).toBe(200);
  });
});

describe('GET /services', () => {
  it('pages through every service exactly once, in id order', async () => {
    const ids = Array.from({ length: 13 }, (_, i) => `page-svc-${String(i).padStart(2, '0')}`);
    for (const id of ids) expect((await api.createService({ id, name: id })).status).toBe(201);
    const seen = (await collectAllIds(api.listServices, { limit: '4' })).filter((id) => id.startsWith('page-svc-'));
    expect(seen).toEqual(ids);
  });

  it('answers the page shape with a default limit of 20', async () => {
    const response = await api.listServices();
    expect(response.status).toBe(200);
    const body = response.body as { items: unknown[]; next: string | null };
    expect(body.items.length).toBeLessThanOrEqual(20);
    expect(body).toHaveProperty('next');
  });

  it.each([
    [{ limit: '0' }],
    [{ limit: 'ten' }],
    [{ limit: '101' }],
    [{ limit: 'Infinity' }],
    [{ limit: '-1e400' }],
    [{ cursor: 'garbage!' }],
    [{ cursor: 'Zm9v' }],
  ])('answers 400 for %j', async (query) => {
    const response = await api.listServices(query);
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toBe('application/problem+json');
  });
});
