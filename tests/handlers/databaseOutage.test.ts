import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { resetConfig } from '#lib/config';
import { closeConnection } from '#lib/db/client';
import { api } from '../support/api.ts';

/** A port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

afterAll(async () => {
  await closeConnection();
});

describe('when the database cannot be reached', () => {
  it('answers 503 problem+json with Retry-After within a few seconds', async () => {
    process.env.MONGODB_URI = `mongodb://127.0.0.1:${await closedPort()}/?directConnection=true`;
    process.env.MONGODB_DATABASE = 'outage';
    resetConfig();
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
});
