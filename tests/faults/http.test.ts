/**
 * A representative subset of the fault matrix over HTTP, through `npm start`'s stack
 * (serverless-offline, the built bundles, API Gateway's event and answer mapping), with the
 * fail points scoped to the offline process's connection by the appName in its connection string.
 * Each fault fires on the first command of its name after it is armed (`{times: 1}`).
 */
import { randomBytes } from 'node:crypto';
import type { Document, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTestClient, testMongoUri, uniqueDbName } from '../support/mongo.ts';
import { type OfflineApi, sendOverHttp, startOffline } from '../support/offline.ts';
import { type FaultSuite, failCommand, withAppName, withFault } from './support.ts';

const appName = `faults-http-${randomBytes(4).toString('hex')}`;
const dbName = uniqueDbName('faults_http');
let offline: OfflineApi;
let admin: MongoClient;
/** The command that writes a move's window locks: the client bulkWrite on 8.0, else an update. */
let lockWrite = 'update';

beforeAll(async () => {
  admin = await connectTestClient();
  if ((await admin.db('admin').command({ hello: 1 })).maxWireVersion >= 25) lockWrite = 'bulkWrite';
  offline = await startOffline({ MONGODB_URI: withAppName(testMongoUri(), appName), MONGODB_DATABASE: dbName });
  // The first request opens the connection and creates the indexes, before any fail point.
  expect((await send('POST', '/services', { id: 'svc-http', name: 'faults over HTTP' })).status).toBe(201);
}, 180_000);

afterAll(async () => {
  await admin?.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' });
  await offline?.stop();
  await admin?.db(dbName).dropDatabase();
  await admin?.close();
});

const send = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  sendOverHttp(offline.baseUrl, method, path, body, headers);

/** Runs `body` with the next `command` the offline process sends failed once; fails unless it was. */
function withNextFailed<T>(command: string, data: Document, body: () => Promise<T>): Promise<T> {
  const suite: FaultSuite = {
    admin,
    appName,
    dbName,
    handlersClient: () => Promise.reject(new Error('the handlers run in serverless-offline')),
  };
  return withFault(suite, () => failCommand(suite, { times: 1 }, { ...data, failCommands: [command] }), body);
}

const collection = (name: string) => admin.db(dbName).collection<Document>(name);

describe('over HTTP', () => {
  it('a create whose commit applied but answered a write-concern error: 503, then the retry replays its 201', async () => {
    const body = { name: 'committed, unacknowledged' };
    const first = await withNextFailed(
      'commitTransaction',
      { writeConcernError: { code: 50, codeName: 'MaxTimeMSExpired', errmsg: 'operation exceeded time limit' } },
      () => send('POST', '/services', body, { 'idempotency-key': 'http-1' }),
    );
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toMatch(/^\d+$/);
    const retry = await send('POST', '/services', body, { 'idempotency-key': 'http-1' });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    const stored = await collection('services').find({ name: body.name }).toArray();
    expect(stored.map((service) => service._id)).toEqual([(retry.body as { id: string }).id]);
  });

  it('an order create whose connection closes inside its transaction: one 201, one order', async () => {
    const datetime = '2080-03-01T09:00:00.000Z';
    const created = await withNextFailed('update', { closeConnection: true }, () =>
      send(
        'POST',
        '/orders',
        { datetime, totalfee: 3, services: [{ id: 'svc-http' }] },
        { 'idempotency-key': 'http-2' },
      ),
    );
    expect(created.status).toBe(201);
    const stored = await collection('orders')
      .find({ datetime: new Date(datetime) })
      .toArray();
    expect(stored.map((order) => order._id)).toEqual([(created.body as { id: string }).id]);
  });

  it('a move whose window lock hits a write conflict: 200 and the order moved once', async () => {
    const created = await send('POST', '/orders', {
      datetime: '2080-04-01T09:00:00.000Z',
      totalfee: 3,
      services: [{ id: 'svc-http' }],
    });
    const id = (created.body as { id: string }).id;
    const moved = await withNextFailed(lockWrite, { errorCode: 112 }, () =>
      send('PUT', `/orders/${id}`, {
        datetime: '2080-04-01T10:00:00.000Z',
        totalfee: 4,
        services: [{ id: 'svc-http' }],
      }),
    );
    expect(moved.status).toBe(200);
    expect(moved.headers.get('etag')).toBe('"2"');
    expect(await collection('orders').findOne({ _id: id } as Document)).toMatchObject({ version: 2, totalfee: 4 });
  });

  it('a delete whose commit applied but its acknowledgement failed (91, the driver retries the commit): 204, gone, one event', async () => {
    const created = await send('POST', '/orders', {
      datetime: '2080-05-01T09:00:00.000Z',
      totalfee: 3,
      services: [{ id: 'svc-http' }],
    });
    const id = (created.body as { id: string }).id;
    // The delete is a transaction (with its outbox event): its commit is the write acknowledged.
    const deleted = await withNextFailed(
      'commitTransaction',
      { writeConcernError: { code: 91, codeName: 'ShutdownInProgress', errmsg: 'Replication is being shut down' } },
      () => send('DELETE', `/orders/${id}`),
    );
    expect(deleted.status).toBe(204);
    expect(await collection('orders').countDocuments({ _id: id } as Document)).toBe(0);
    const events = await collection('outbox_events')
      .find({ resource: `order/${id}` })
      .toArray();
    expect(events.map((event) => [event.type, event.version])).toEqual([
      ['order.created', 1],
      ['order.deleted', 2],
    ]);
  });

  it('a service delete whose commit meets a step-down: 204 and gone', async () => {
    expect((await send('POST', '/services', { id: 'svc-http-del', name: 'x' })).status).toBe(201);
    const deleted = await withNextFailed('commitTransaction', { errorCode: 11602 }, () =>
      send('DELETE', '/services/svc-http-del'),
    );
    expect(deleted.status).toBe(204);
    expect(await collection('services').countDocuments({ _id: 'svc-http-del' } as Document)).toBe(0);
  });
});
