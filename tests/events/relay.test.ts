/**
 * The relay against a mocked EventBridge (aws-sdk-client-mock): every outbox event is put at least
 * once, with its stable id in the detail; per resource, version n+1 is never put before n was
 * accepted; entries PutEvents reports failed and throttled calls are tried again, and only accepted
 * entries are marked; a crash between the put and the mark puts the same event (same id) again.
 */
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import type { Db } from 'mongodb';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { collections } from '#lib/db/indexes';
import type { OutboxDocument } from '#lib/db/outbox';
import { MAX_ENTRIES_PER_PUT, type RelayOptions, relayOutbox } from '#lib/events/relay';
import { EVENT_SOURCE, type EventDetail } from '#lib/schemas/events';
import { failCommand, useFaultSuite, withFault } from '../faults/support.ts';
import { api } from '../support/api.ts';

const suite = useFaultSuite('events_relay');
const eventBridge = mockClient(EventBridgeClient);
const client = new EventBridgeClient({ region: 'eu-west-1' });
const BUS = 'orders-test-bus';
let db: Db;

/** One PutEvents call as the mock saw it. */
interface Put {
  entries: PutEventsRequestEntry[];
  details: EventDetail[];
}
let puts: Put[] = [];
let delays: number[] = [];
/** Decides each entry's fate: undefined accepts it, a string is the ErrorCode PutEvents reports. */
let entryFailure: (detail: EventDetail, attempt: number) => string | undefined = () => undefined;
/** How many coming calls the fake refuses whole, as EventBridge throttling a caller does. */
let throttleCalls = 0;
const throttling = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });

/** A fake EventBridge: records each call and answers per entry as `entryFailure` says. */
function fakePutEvents() {
  const attempts = new Map<string, number>();
  eventBridge.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
    if (throttleCalls > 0) {
      throttleCalls -= 1;
      throw throttling();
    }
    const details = input.Entries.map((entry) => JSON.parse(entry.Detail ?? '{}') as EventDetail);
    puts.push({ entries: input.Entries, details });
    const results: PutEventsResultEntry[] = details.map((detail) => {
      const attempt = (attempts.get(detail.eventId) ?? 0) + 1;
      attempts.set(detail.eventId, attempt);
      const failure = entryFailure(detail, attempt);
      return failure
        ? { ErrorCode: failure, ErrorMessage: 'fake' }
        : { EventId: `eb-${puts.length}-${detail.eventId}` };
    });
    return { FailedEntryCount: results.filter((result) => result.ErrorCode).length, Entries: results };
  });
}

const options = (extra: Partial<RelayOptions> = {}): RelayOptions => ({
  client,
  busName: BUS,
  baseDelayMs: 100,
  sleep: async (ms) => {
    delays.push(ms);
  },
  ...extra,
});

async function outboxEvents(): Promise<OutboxDocument[]> {
  return db.collection<OutboxDocument>(collections.outboxEvents).find().toArray();
}
async function undelivered(): Promise<OutboxDocument[]> {
  return db.collection<OutboxDocument>(collections.outboxEvents).find({ deliveredAt: null }).toArray();
}

const HOUR = 3_600_000;
let nextSlot = Date.parse('2051-01-01T00:00:00Z');
function order(id: string) {
  nextSlot += 10 * 24 * HOUR;
  return { id, datetime: new Date(nextSlot).toISOString(), totalfee: 1, services: [{ id: 'svc' }] };
}

/** Writes through the API: `orders` orders, each created then changed `changes` times. */
async function writeOrders(prefix: string, orders: number, changes: number): Promise<void> {
  for (let index = 0; index < orders; index += 1) {
    const body = order(`${prefix}-${index}`);
    expect((await api.createOrder(body)).status).toBe(201);
    for (let change = 1; change <= changes; change += 1) {
      expect((await api.updateOrder(body.id, { ...body, totalfee: change + 1 })).status).toBe(200);
    }
  }
}

beforeAll(async () => {
  db = suite.admin.db(suite.dbName);
  expect((await api.createService({ id: 'svc', name: 'Service' })).status).toBe(201);
});
beforeEach(async () => {
  await db.collection(collections.outboxEvents).deleteMany({});
  eventBridge.reset();
  puts = [];
  delays = [];
  entryFailure = () => undefined;
  throttleCalls = 0;
  fakePutEvents();
});
afterEach(() => {
  eventBridge.reset();
});

describe('the relay', () => {
  it('puts every undelivered event once, in calls of at most 10, with its id in the detail, and marks them', async () => {
    await writeOrders('all', 14, 0);
    const report = await relayOutbox(options());
    expect(report).toEqual({ published: 14, failures: 0, incomplete: false });
    expect(puts.length).toBeGreaterThanOrEqual(2);
    expect(puts.every((put) => put.entries.length <= MAX_ENTRIES_PER_PUT)).toBe(true);
    for (const entry of puts.flatMap((put) => put.entries)) {
      expect(entry).toMatchObject({ EventBusName: BUS, Source: EVENT_SOURCE, DetailType: 'order.created' });
    }
    const stored = await outboxEvents();
    expect(stored.every((event) => event.deliveredAt instanceof Date)).toBe(true);
    expect(puts.flatMap((put) => put.details.map((detail) => detail.eventId)).sort()).toEqual(
      stored.map((event) => event._id).sort(),
    );
    // Nothing left: a second run puts nothing.
    expect(await relayOutbox(options())).toEqual({ published: 0, failures: 0, incomplete: false });
    expect(puts.length).toBeGreaterThanOrEqual(2);
  });

  it('puts a resource’s versions in order, never two of one resource in one call, n+1 only after n', async () => {
    await writeOrders('chain', 3, 4);
    expect(await relayOutbox(options())).toMatchObject({ published: 15, failures: 0 });
    const callOf = new Map<string, number>();
    puts.forEach((put, call) => {
      const resources = put.details.map((detail) => detail.resourceId);
      expect(new Set(resources).size).toBe(resources.length);
      for (const detail of put.details) callOf.set(`${detail.resourceId}@${detail.version}`, call);
    });
    for (let index = 0; index < 3; index += 1) {
      const calls = [1, 2, 3, 4, 5].map((version) => callOf.get(`chain-${index}@${version}`) ?? -1);
      expect(calls.every((call, at) => call >= 0 && (at === 0 || call > (calls[at - 1] as number)))).toBe(true);
    }
  });

  it('tries again only the entries PutEvents reports failed, with growing delays, and marks each once accepted', async () => {
    await writeOrders('partial', 4, 0);
    // Two of the four fail twice (an internal failure, then throttling), then succeed.
    entryFailure = (detail, attempt) =>
      ['partial-1', 'partial-3'].includes(detail.resourceId) && attempt <= 2
        ? attempt === 1
          ? 'InternalFailure'
          : 'ThrottlingException'
        : undefined;
    expect(await relayOutbox(options())).toEqual({ published: 4, failures: 0, incomplete: false });
    expect(puts.map((put) => put.details.map((detail) => detail.resourceId).sort())).toEqual([
      ['partial-0', 'partial-1', 'partial-2', 'partial-3'],
      ['partial-1', 'partial-3'],
      ['partial-1', 'partial-3'],
    ]);
    // Full jitter under a doubling ceiling: 100 ms, then 200 ms.
    expect(delays).toHaveLength(2);
    expect(delays[0]).toBeLessThanOrEqual(100);
    expect(delays[1]).toBeLessThanOrEqual(200);
    expect(await undelivered()).toEqual([]);
  });

  it('survives throttled calls: retries the whole call, and what is still refused waits for the next run', async () => {
    await writeOrders('throttled', 2, 1);
    // The first run's every attempt is throttled: nothing is marked, the run reports its failure.
    throttleCalls = 3;
    const first = await relayOutbox(options({ maxAttempts: 3 }));
    expect(first).toEqual({ published: 0, failures: 2, incomplete: true });
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(3);
    expect(puts).toEqual([]);
    expect((await undelivered()).length).toBe(4);
    // Throttled twice more, then accepted: every event goes out, each resource in version order.
    throttleCalls = 2;
    const second = await relayOutbox(options());
    expect(second).toEqual({ published: 4, failures: 0, incomplete: false });
    expect(await undelivered()).toEqual([]);
    const versions = puts.flatMap((put) => put.details.map((detail) => `${detail.resourceId}@${detail.version}`));
    expect(versions.indexOf('throttled-0@1')).toBeLessThan(versions.indexOf('throttled-0@2'));
    expect(versions.indexOf('throttled-1@1')).toBeLessThan(versions.indexOf('throttled-1@2'));
  });

  it('holds back a resource whose earlier event keeps failing, and publishes the other resources', async () => {
    await writeOrders('stuck', 2, 2);
    entryFailure = (detail) => (detail.resourceId === 'stuck-0' ? 'InternalFailure' : undefined);
    // Each run stops at its failing batch; runs until the healthy resource is through.
    for (let run = 0; run < 5; run += 1) await relayOutbox(options({ maxAttempts: 2 }));
    const sent = puts.flatMap((put) => put.details.map((detail) => `${detail.resourceId}@${detail.version}`));
    expect(sent).not.toContain('stuck-0@2');
    expect(sent).toContain('stuck-1@3');
    expect((await undelivered()).map((event) => event.version).sort()).toEqual([1, 2, 3]);
    // Once EventBridge takes it, the held-back versions follow in order.
    entryFailure = () => undefined;
    expect(await relayOutbox(options())).toMatchObject({ published: 3, failures: 0 });
    expect(await undelivered()).toEqual([]);
  });

  it('starts no batch once its time budget is spent, and says it left events behind', async () => {
    await writeOrders('budget', 1, 3);
    const report = await relayOutbox(options({ budgetMs: 0 }));
    expect(report).toEqual({ published: 1, failures: 0, incomplete: true });
    expect(puts).toHaveLength(1);
    expect((await undelivered()).map((event) => event.version).sort()).toEqual([2, 3, 4]);
  });

  it('after a crash between the put and the mark, puts the same events again with the same ids: none lost', async () => {
    await writeOrders('crash', 3, 0);
    // The mark (an update on the outbox) fails as if the function died right after PutEvents returned.
    await withFault(
      suite,
      () => failCommand(suite, { times: 1 }, { failCommands: ['update'], closeConnection: true }),
      () => expect(relayOutbox(options())).rejects.toThrow(),
    );
    expect(puts).toHaveLength(1);
    const firstIds = puts[0]?.details.map((detail) => detail.eventId).sort();
    expect((await undelivered()).length).toBe(3);
    expect(await relayOutbox(options())).toEqual({ published: 3, failures: 0, incomplete: false });
    expect(puts).toHaveLength(2);
    expect(puts[1]?.details.map((detail) => detail.eventId).sort()).toEqual(firstIds);
    expect(await undelivered()).toEqual([]);
  });
});
