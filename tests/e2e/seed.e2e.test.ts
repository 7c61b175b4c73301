import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from '../support/auth.ts';
import { testMongoUri, uniqueDbName } from '../support/mongo.ts';
import { callOverHttp, type OfflineApi, startOffline } from '../support/offline.ts';
import { SAMPLE_DAY, SAMPLE_DAY_AVAILABILITY } from '../support/samples.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
let offline: OfflineApi;

beforeAll(async () => {
  offline = await startOffline({ MONGODB_URI: testMongoUri(), MONGODB_DATABASE: uniqueDbName('seed') });
}, 150_000);

afterAll(async () => {
  await offline?.stop();
});

async function seed(token: string) {
  return run(process.execPath, ['--import', 'tsx', 'scripts/seed.ts'], {
    cwd: root,
    env: { ...process.env, BASE_URL: offline.baseUrl, TOKEN: token },
  });
}

describe('npm run seed', () => {
  it('loads the sample services and orders, and a second run changes nothing and fails nothing', async () => {
    const token = (await bearer()).slice('Bearer '.length);
    const first = await seed(token);
    expect(first.stdout).toContain('created orders/225');
    const list = async () =>
      (await fetch(`${offline.baseUrl}/orders`, { headers: { authorization: `Bearer ${token}` } })).json() as Promise<{
        items: { id: string; datetime: string; updatedAt: string }[];
      }>;
    const before = await list();
    expect(before.items.map((order) => order.id)).toEqual(['223', '224', '225']);
    // The sample orders share one datetime; the seed spaces them exactly 3 hours apart.
    expect(before.items.map((order) => order.datetime)).toEqual([
      '2022-11-01T11:11:11.111Z',
      '2022-11-01T14:11:11.111Z',
      '2022-11-01T17:11:11.111Z',
    ]);

    const second = await seed(token);
    expect(second.stdout).not.toContain('created');
    expect(second.stdout.match(/kept/g)).toHaveLength(6);
    expect(await list()).toEqual(before);
  });

  it("answers the sample day's gaps exactly; every start and a 409's nearestAvailable.after can be booked", async () => {
    const call = (method: string, path: string, body?: unknown) => callOverHttp(offline.baseUrl, method, path, body);
    const day = `/orders/availability?${new URLSearchParams(SAMPLE_DAY)}`;
    const available = await call('GET', day);
    expect(available.status).toBe(200);
    expect(available.body).toEqual(SAMPLE_DAY_AVAILABILITY);
    // Routing: the static path wins over /orders/{id} without hiding the orders themselves.
    expect((await call('GET', '/orders/224')).body).toMatchObject({ id: '224' });
    expect((await call('GET', '/orders/availability')).status).toBe(400);
    expect((await call('GET', '/orders/availability/x')).status).toBe(404);
    // No order can have that id: the path parameter's schema refuses it, as the document says.
    expect((await call('DELETE', '/orders/availability')).status).toBe(400);

    const order = (datetime: string) => ({ datetime, totalfee: 100, services: [{ id: '123' }] });
    for (const { start } of (available.body as { intervals: { start: string }[] }).intervals) {
      const created = await call('POST', '/orders', order(start));
      expect(created.status, start).toBe(201);
      expect((await call('DELETE', `/orders/${(created.body as { id: string }).id}`)).status).toBe(204);
    }

    const refused = await call('POST', '/orders', order('2022-11-01T12:00:00Z'));
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({
      conflictingOrderId: '223',
      nearestAvailable: { before: '2022-11-01T08:11:11.111Z', after: '2022-11-01T20:11:11.111Z' },
    });
    const { after } = (refused.body as { nearestAvailable: { after: string } }).nearestAvailable;
    const retried = await call('POST', '/orders', order(after));
    expect(retried.status).toBe(201);
    expect((await call('DELETE', `/orders/${(retried.body as { id: string }).id}`)).status).toBe(204);
  });
});
