import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedMongo } from '#dev/mongo/index';
import { resetConfig } from '#lib/config';
import { closeConnection } from '#lib/db/client';
import { api } from '../support/api.ts';
import { testAuthEnvironment } from '../support/auth.ts';
import { freePort } from '../support/offline.ts';

afterAll(async () => {
  await closeConnection();
});

async function useDatabase(uri: string): Promise<void> {
  Object.assign(process.env, await testAuthEnvironment());
  process.env.MONGODB_URI = uri;
  process.env.MONGODB_DATABASE = 'outage';
  resetConfig();
}

describe('when the database cannot be reached', () => {
  it('answers 503 problem+json with Retry-After within a few seconds, hiding the address', async () => {
    await useDatabase(`mongodb://127.0.0.1:${await freePort()}/?directConnection=true`);
    await closeConnection();
    const started = Date.now();
    const response = await api.getOrder('any');
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(response.status).toBe(503);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.headers['retry-after']).toBe('5');
    expect(response.body).toMatchObject({ status: 503, title: 'Service Unavailable' });
    expect(response.rawBody).not.toContain('127.0.0.1');
  });

  // This checks the API's client, not the server, so it always runs its own embedded MongoDB
  // that it can stop and start again on the same port.
  it('recovers on the next request once the database is back, without a new container', async () => {
    const port = await freePort();
    let mongo = await startEmbeddedMongo({ port });
    try {
      await useDatabase(mongo.uri);
      await closeConnection();
      expect((await api.createService({ id: 'before-outage', name: 'x' })).status).toBe(201);

      await mongo.stop();
      const started = Date.now();
      const during = await api.getService('before-outage');
      expect(during.status).toBe(503);
      expect(Date.now() - started).toBeLessThan(6_000);

      mongo = await startEmbeddedMongo({ port });
      // In memory: the restarted server is empty, so 404 proves the request reached it.
      const after = await api.getService('before-outage');
      expect(after.status).toBe(404);
      expect((await api.createService({ id: 'after-outage', name: 'y' })).status).toBe(201);
    } finally {
      await mongo.stop();
    }
  });
});
