import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from '../support/auth.ts';
import { testMongoUri, uniqueDbName } from '../support/mongo.ts';
import { type OfflineApi, startOffline } from '../support/offline.ts';

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
});
