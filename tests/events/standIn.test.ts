/**
 * `npm start`'s EventBridge stand-in (dev/eventBridgeStandIn.ts) with the real SDK client, as the
 * relay reaches it locally: every event put prints one line, and the relay marks what it accepted.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { collections } from '#lib/db/indexes';
import { relayOutbox } from '#lib/events/relay';
import { startEventBridgeStandIn } from '../../dev/eventBridgeStandIn.ts';
import { api, useApiDatabase } from '../support/api.ts';
import { connectTestClient } from '../support/mongo.ts';

const database = useApiDatabase('events_stand_in');
const lines: string[] = [];
let standIn: Awaited<ReturnType<typeof startEventBridgeStandIn>>;
let client: MongoClient;
let db: Db;

beforeAll(async () => {
  standIn = await startEventBridgeStandIn((line) => lines.push(line));
  client = await connectTestClient();
  db = client.db(database.dbName);
});
afterAll(async () => {
  await standIn?.stop();
  await client?.close();
});

it('prints each event the relay puts as one line, through the real SDK client, and the relay marks them', async () => {
  expect((await api.createService({ id: 'printed', name: 'Printed' })).status).toBe(201);
  expect((await api.updateService('printed', { name: 'Printed again' })).status).toBe(200);
  const eventBridge = new EventBridgeClient({
    endpoint: standIn.endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const report = await relayOutbox({ client: eventBridge, busName: 'local-bus' });
  expect(report).toEqual({ published: 2, failures: 0, incomplete: false });
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(
    /^\[event\] service\.created printed v1 by developer on local-bus: \{.*"eventId":"[0-9a-f-]{36}"/,
  );
  expect(lines[1]).toMatch(
    /^\[event\] service\.renamed printed v2 by developer on local-bus: \{.*"name":"Printed again"/,
  );
  expect(lines.every((line) => !line.includes('\n'))).toBe(true);
  expect(await db.collection(collections.outboxEvents).countDocuments({ deliveredAt: null })).toBe(0);
});
