import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from '../support/auth.ts';
import { assertResponseMatchesContract } from '../support/contract.ts';
import { testMongoUri, uniqueDbName } from '../support/mongo.ts';
import { callOverHttp, type OfflineApi, sendOverHttp, startOffline } from '../support/offline.ts';
import { isPrismOwnAnswer, type PrismProxy, startPrism } from '../support/prism.ts';

let offline: OfflineApi;
/** Stoplight Prism in front of serverless-offline: every call goes through it first. */
let prism: PrismProxy;

beforeAll(async () => {
  offline = await startOffline({ MONGODB_URI: testMongoUri(), MONGODB_DATABASE: uniqueDbName('e2e') });
  prism = await startPrism('openapi.json', offline.baseUrl);
}, 150_000);

afterAll(async () => {
  await prism?.stop();
  await offline?.stop();
});

/**
 * Sends a request through Prism (validating proxy, `--errors`) and returns the API's answer.
 * Prism must find no violation in any response. A request Prism refuses as breaking the
 * document (the error tests send those on purpose) never reached the API: it is then sent
 * straight to serverless-offline, and the API must refuse it too.
 */
async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  let received = await sendOverHttp(prism.baseUrl, method, path, body, headers);
  expect(received.headers.get('sl-violations'), `Prism on ${method} ${path}`).toBeNull();
  const prismError = received.body;
  if (isPrismOwnAnswer(prismError)) {
    const inResponse = (prismError.validation ?? []).filter((violation) => violation.location?.[0] === 'response');
    expect(inResponse, `Prism on ${method} ${path}: ${JSON.stringify(prismError)}`).toEqual([]);
    received = await sendOverHttp(offline.baseUrl, method, path, body, headers);
    expect(received.status, `Prism refused ${method} ${path}; the API must too`).toBeGreaterThanOrEqual(400);
  }
  // Contract check: the response must be one openapi.json allows (throws ContractViolation).
  assertResponseMatchesContract({ method, path }, received);
  return received;
}

describe('over HTTP through Prism and serverless-offline', () => {
  it('runs the assignment: three services, then three orders at one datetime (one 201, two 409)', async () => {
    for (const [id, name] of [
      ['123', 'Inspection'],
      ['789', 'Testing'],
      ['456', 'Analysis'],
    ]) {
      const created = await call('POST', '/services', { id, name });
      expect(created.status).toBe(201);
      expect(created.headers.get('location')).toBe(`/services/${id}`);
    }
    const datetime = '2022-11-01T11:11:11.111Z';
    const first = await call('POST', '/orders', { id: 223, datetime, totalfee: 100, services: [{ id: '123' }] });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ id: '223', datetime, totalfee: 100, services: [{ id: '123' }] });
    for (const id of [224, 225]) {
      const refused = await call('POST', '/orders', { id, datetime, totalfee: 100, services: [{ id: '789' }] });
      expect(refused.status).toBe(409);
      expect(refused.headers.get('content-type')).toBe('application/problem+json');
      expect(refused.body).toMatchObject({ status: 409, conflictingOrderId: '223' });
    }
    const listed = await call('GET', '/orders?limit=10');
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ items: [{ id: '223' }], next: null });
  });

  it('serves every CRUD route with the documented statuses and headers', async () => {
    expect((await call('GET', '/services/123')).body).toMatchObject({ id: '123', name: 'Inspection' });
    const renamed = await call('PUT', '/services/456', { name: 'Deep analysis' });
    expect(renamed.status).toBe(200);
    expect(renamed.headers.get('cache-control')).toBe('no-store');
    expect(renamed.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await call('GET', '/services?limit=2')).body).toMatchObject({ items: [{ id: '123' }, { id: '456' }] });

    const moved = await call('PUT', '/orders/223', {
      datetime: '2022-11-01T13:00:00+02:00',
      totalfee: 120.5,
      services: [{ id: '123' }, { id: '456' }],
    });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ id: '223', datetime: '2022-11-01T11:00:00.000Z', totalfee: 120.5 });
    expect((await call('GET', '/orders/223')).body).toEqual(moved.body);
    expect((await call('DELETE', '/services/456')).status).toBe(409);
    expect((await call('DELETE', '/orders/223')).status).toBe(204);
    expect((await call('GET', '/orders/223')).status).toBe(404);
    expect((await call('DELETE', '/services/456')).status).toBe(204);
  });

  it('answers 20 simultaneous creates inside one window with one 201 and nineteen 409s', async () => {
    const start = Date.parse('2033-03-03T09:00:00Z');
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call('POST', '/orders', {
          datetime: new Date(start + i * 7 * 60_000).toISOString(),
          totalfee: 1,
          services: [{ id: '123' }],
        }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
  });

  it('answers a burst of 100 simultaneous creates with only 201, 409 or 503 + Retry-After, and keeps serving', async () => {
    // Every 90 minutes: each order collides with its neighbours, so the burst exercises both
    // the window locks and plain creates. A platform timeout would show as a 200 or a 5xx other
    // than 503 here (serverless-offline answers a timed-out Lambda with HTTP 200 and the error).
    const start = Date.parse('2034-04-04T00:00:00Z');
    const requested = Array.from({ length: 100 }, (_, i) => new Date(start + i * 90 * 60_000).toISOString());
    // Straight to serverless-offline (contract-checked), not through Prism: the burst is about
    // the local Lambda platform, and a proxy in front would add its own queueing.
    const responses = await Promise.all(
      requested.map((datetime) =>
        callOverHttp(offline.baseUrl, 'POST', '/orders', { datetime, totalfee: 1, services: [{ id: '123' }] }),
      ),
    );
    for (const response of responses) {
      expect([201, 409, 503], JSON.stringify(response.body)).toContain(response.status);
      if (response.status === 503) expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
    }
    const created = responses.filter((r) => r.status === 201).map((r) => r.body as { id: string; datetime: string });
    expect(created.length).toBeGreaterThan(0);
    // Every 201 was stored, and no two stored orders are within three hours of each other.
    const times = created.map((order) => Date.parse(order.datetime)).sort((a, b) => a - b);
    for (let i = 1; i < times.length; i++)
      expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeGreaterThanOrEqual(3 * 3600_000);
    for (const order of created.slice(0, 10)) expect((await call('GET', `/orders/${order.id}`)).status).toBe(200);
    // Still serving: a lone create in a free window answers 201.
    const after = await call('POST', '/orders', {
      datetime: '2035-05-05T12:00:00Z',
      totalfee: 1,
      services: [{ id: '123' }],
    });
    expect(after.status).toBe(201);
  }, 120_000);

  it('is validated by Prism: a body that breaks the document is flagged, in a request and in a response', async () => {
    const unknownField = await sendOverHttp(prism.baseUrl, 'POST', '/services', { name: 'Inspection', colour: 'red' });
    expect(unknownField.status).toBe(422);
    expect(JSON.stringify(unknownField.body)).toContain("found 'colour'");

    // A canary copy of the document where a service's name is an integer: the API's real answer breaks it.
    const canaryDocument = JSON.parse(await readFile('openapi.json', 'utf8'));
    canaryDocument.components.schemas.Service.properties.name = { type: 'integer' };
    const folder = await mkdtemp(join(tmpdir(), 'prism-canary-'));
    await writeFile(join(folder, 'openapi.json'), JSON.stringify(canaryDocument));
    const canary = await startPrism(join(folder, 'openapi.json'), offline.baseUrl);
    try {
      const answer = await sendOverHttp(canary.baseUrl, 'GET', '/services/123');
      expect(answer.status).toBe(500);
      expect(answer.headers.get('sl-violations')).toContain('Response body property name must be integer');
    } finally {
      await canary.stop();
      await rm(folder, { recursive: true, force: true });
    }
  }, 90_000);

  it("answers in the API's shape even where serverless-offline's HTTP layer answers by itself", async () => {
    for (const path of ['/orders/%ZZ', '/orders/%C0%AF', '/orders/%FF']) {
      const response = await fetch(`${offline.baseUrl}${path}`, { headers: { authorization: await bearer() } });
      expect(response.status, path).toBe(400);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(await response.json()).toMatchObject({ status: 400, detail: expect.stringContaining(path) });
    }
    const oddType = await fetch(`${offline.baseUrl}/services`, {
      method: 'POST',
      headers: { authorization: await bearer(), 'content-type': 'json' },
      body: '{"name":"x"}',
    });
    expect(oddType.status).toBe(400);
    expect(oddType.headers.get('content-type')).toBe('application/problem+json');
    const bareOptions = await fetch(`${offline.baseUrl}/services`, { method: 'OPTIONS' });
    expect(bareOptions.headers.get('content-type')).toBe('application/problem+json');
    expect(((await bareOptions.json()) as { status: number }).status).toBe(bareOptions.status);

    expect((await call('POST', '/services', { id: 'gone-soon', name: 'x' })).status).toBe(201);
    const deleted = await call('DELETE', '/services/gone-soon');
    expect(deleted.status).toBe(204);
    expect(deleted.headers.get('content-type')).toBeNull();
  });

  it('allows CORS from the configured origins only', async () => {
    const preflight = (origin: string) =>
      fetch(`${offline.baseUrl}/orders`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
      });
    const allowed = await preflight('http://localhost:5173');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(allowed.headers.get('access-control-expose-headers')).toContain('ETag');
    const other = await preflight('https://elsewhere.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers errors as problem+json: malformed JSON 400, wrong type 415, too large 413, unknown route 404', async () => {
    const malformed = await call('POST', '/orders', '{"datetime":');
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('content-type')).toBe('application/problem+json');

    const wrongType = await call('POST', '/services', 'name=x', { 'content-type': 'text/plain' });
    expect(wrongType.status).toBe(415);

    const tooLarge = await call('POST', '/services', { name: 'x', pad: 'y'.repeat(70_000) });
    expect(tooLarge.status).toBe(413);

    for (const [method, path] of [
      ['GET', '/nothing-here'],
      ['PATCH', '/orders/1'],
      ['POST', '/orders/1/items'],
    ] as const) {
      const unknown = await call(method, path);
      expect(unknown.status, `${method} ${path}`).toBe(404);
      expect(unknown.headers.get('content-type')).toBe('application/problem+json');
    }

    const badId = await call('GET', '/orders/%24where');
    expect(badId.status).toBe(400);

    const anonymous = await call('GET', '/orders', undefined, { authorization: '' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toBe('application/problem+json');
    const readOnly = await call(
      'POST',
      '/services',
      { name: 'x' },
      { authorization: await bearer({ scopes: ['services:read'] }) },
    );
    expect(readOnly.status).toBe(403);
  });
});
