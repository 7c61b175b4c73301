/**
 * The relay's fast path after a write (lib/http/middleware/relayEvents.ts) and the scheduled sweep
 * (functions/events/sweep.ts), with EventBridge mocked (aws-sdk-client-mock): the answer never
 * waits for the put and never fails with it; what the fast path could not put, the sweep does.
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import type { Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { collections } from '#lib/db/indexes';
import type { OutboxDocument } from '#lib/db/outbox';
import { handler as sweep } from '../../functions/events/sweep.ts';
import { api, useApiDatabase } from '../support/api.ts';
import { connectTestClient } from '../support/mongo.ts';

const database = useApiDatabase('events_fast_path', { EVENT_BUS_NAME: 'fast-path-bus', AWS_REGION: 'eu-west-1' });
const eventBridge = mockClient(EventBridgeClient);
let client: MongoClient;
let db: Db;
let puts: PutEventsRequestEntry[][] = [];

beforeAll(async () => {
  client = await connectTestClient();
  db = client.db(database.dbName);
});
afterAll(async () => {
  eventBridge.restore();
  await client?.close();
});
beforeEach(() => {
  eventBridge.reset();
  puts = [];
});

/** A PutEvents that accepts every entry (and records the call). */
function accepting(input: { Entries: PutEventsRequestEntry[] }) {
  puts.push(input.Entries);
  return { FailedEntryCount: 0, Entries: input.Entries.map((_, index) => ({ EventId: `eb-${puts.length}-${index}` })) };
}

async function eventOf(resource: string): Promise<OutboxDocument | null> {
  return db.collection<OutboxDocument>(collections.outboxEvents).findOne({ resource });
}

async function until(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > giveUpAt) throw new Error('the condition never held');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it('answers a write before its put completes, then marks the event the put delivered', async () => {
  // The put is held until the answer is in: a fast path that awaited it could never answer.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  eventBridge.on(PutEventsCommand).callsFake(async (input: { Entries: PutEventsRequestEntry[] }) => {
    await held;
    return accepting(input);
  });
  const created = await api.createService({ id: 'fast-1', name: 'Fast' });
  expect(created.status).toBe(201);
  expect((await eventOf('service/fast-1'))?.deliveredAt).toBeNull();
  release();
  await until(async () => (await eventOf('service/fast-1'))?.deliveredAt instanceof Date);
  const detail = JSON.parse(puts.flat().find((entry) => entry.Detail?.includes('"fast-1"'))?.Detail ?? '{}');
  expect(detail).toMatchObject({ type: 'service.created', resourceId: 'fast-1', service: created.body });
  expect(puts.flat()[0]?.EventBusName).toBe('fast-path-bus');
});

it('answers a write normally when EventBridge refuses the put; the sweep publishes the event later, same id', async () => {
  const throttling = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
  eventBridge.on(PutEventsCommand).rejects(throttling);
  const renamed = await api.createService({ id: 'fast-2', name: 'Refused' });
  expect(renamed.status).toBe(201);
  // The fast path gives up (two attempts) and leaves the event for the sweep.
  await until(async () => eventBridge.commandCalls(PutEventsCommand).length >= 2);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const waiting = await eventOf('service/fast-2');
  expect(waiting?.deliveredAt).toBeNull();

  eventBridge.reset();
  eventBridge.on(PutEventsCommand).callsFake(accepting);
  const report = await sweep();
  expect(report).toMatchObject({ failures: 0, oldestAgeSeconds: 0 });
  expect(report.published).toBeGreaterThanOrEqual(1);
  const swept = puts.flat().map((entry) => JSON.parse(entry.Detail ?? '{}'));
  expect(swept.filter((detail) => detail.resourceId === 'fast-2').map((detail) => detail.eventId)).toEqual([
    waiting?._id,
  ]);
  expect((await eventOf('service/fast-2'))?.deliveredAt).toBeInstanceOf(Date);
});

it('has the sweep report its failures and the age of what it could not publish', async () => {
  eventBridge.on(PutEventsCommand).rejects(new Error('InternalFailure'));
  expect((await api.createService({ id: 'fast-3', name: 'Stuck' })).status).toBe(201);
  await until(async () => eventBridge.commandCalls(PutEventsCommand).length >= 2);
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const report = await sweep();
  expect(report.published).toBe(0);
  expect(report.failures).toBeGreaterThanOrEqual(1);
  expect(report.oldestAgeSeconds).toBeGreaterThanOrEqual(1);
});
