import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type EmbeddedMongo, startEmbeddedMongo } from '#dev/mongo/index';
import { resetConfig } from '#lib/config';
import { closeConnection } from '#lib/db/client';
import { api } from '../support/api.ts';
import type { TestResponse } from '../support/apiEvents.ts';
import { testAuthEnvironment } from '../support/auth.ts';

// What the API answers when the cluster refuses connections (mongod's net.maxIncomingConnections,
// reached when too many containers hold pools). This checks the API's client against a server
// with a connection limit, so it always runs its own embedded MongoDB.
const LIMIT = 4;
let mongo: EmbeddedMongo;
let others: Socket[] = [];

async function occupy(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const socket = connect(mongo.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    others.push(socket);
  }
  // Let the server register them before the API dials.
  await new Promise((resolve) => setTimeout(resolve, 50));
}

function release(): void {
  for (const socket of others) socket.destroy();
  others = [];
}

async function useLimitedDatabase(): Promise<void> {
  mongo = await startEmbeddedMongo({ port: 0, maxIncomingConnections: LIMIT, log: () => {} });
  Object.assign(process.env, await testAuthEnvironment());
  process.env.MONGODB_URI = mongo.uri;
  process.env.MONGODB_DATABASE = 'connection_limit';
  process.env.MONGODB_MAX_POOL_SIZE = '2';
  resetConfig();
  await closeConnection();
}

async function timed(request: () => Promise<TestResponse>): Promise<{ response: TestResponse; ms: number }> {
  const started = performance.now();
  const response = await request();
  return { response, ms: performance.now() - started };
}

function expectRefusal({ response, ms }: { response: TestResponse; ms: number }): void {
  expect(response.status).toBe(503);
  expect(response.headers['retry-after']).toBe('5');
  expect(response.headers['content-type']).toBe('application/problem+json');
  // Its own type, which the DatabaseUnavailable metric counts (lib/http/middleware/metrics.ts).
  expect(response.body).toMatchObject({ type: '/problems/database-unavailable' });
  // The client's 3 s server selection and connect timeouts, not a hang until the 10 s function timeout.
  expect(ms).toBeLessThan(6_000);
}

afterEach(async () => {
  release();
  await closeConnection();
  await mongo?.stop();
});

afterAll(() => {
  delete process.env.MONGODB_MAX_POOL_SIZE;
  resetConfig();
});

describe('when the database refuses connections beyond its limit', () => {
  it('answers 503 with Retry-After for a cold container, and serves it once connections free up', async () => {
    await useLimitedDatabase();
    await occupy(LIMIT);
    expectRefusal(await timed(() => api.getService('anything')));
    expectRefusal(await timed(() => api.createService({ id: 'refused', name: 'x' })));
    release();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await api.createService({ id: 'served', name: 'x' })).status).toBe(201);
    expect((await api.getService('refused')).status).toBe(404);
  });

  it('answers 503 when the container gets its monitoring connection but no pooled one, then recovers', async () => {
    await useLimitedDatabase();
    expect((await api.createService({ id: 'kept', name: 'x' })).status).toBe(201);
    await closeConnection();
    // One slot left: the new client's monitor takes it, the connection for the request is refused.
    await occupy(LIMIT - 1);
    const refused = await timed(() => api.getService('kept'));
    expectRefusal(refused);
    release();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await api.getService('kept')).status).toBe(200);
  });
});
