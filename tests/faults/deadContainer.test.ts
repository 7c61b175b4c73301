/**
 * Issue 19's scenario: a create commits, then its function answers the deadline's 503 and dies
 * before the key's answer is stored (Lambda may reclaim a container right after it answers).
 * Simulated with real fail points on the handlers' connection: the write that stores the answer
 * is held past the deadline, then fails, so nothing after the commit reaches the database. The
 * client then retries with the same Idempotency-Key once the key's lease has run out.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandStartedEvent } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { DEADLINE_MARGIN_MS } from '#lib/http/deadline';
import { api, handlers } from '../support/api.ts';
import { invoke, lambdaContext, type TestRequest } from '../support/apiEvents.ts';
import { commandsOf, failCommand, useFaultSuite, withFault, withFaultAt } from './support.ts';

const suite = useFaultSuite('faults_dead');

/** How long the answer's write is held: well past the deadline below. */
const HOLD_MS = 1_500;

/** A context whose deadline's 503 leaves 400 ms after the request starts. */
const shortLived = () => ({ ...lambdaContext(), getRemainingTimeInMillis: () => DEADLINE_MARGIN_MS + 400 });

const keys = () => suite.admin.db(suite.dbName).collection<{ _id: string; leaseExpiresAt: Date }>('idempotency_keys');

/** The last write of a key outside a transaction in a create: the one storing its answer. */
async function answerWriteOf(request: () => Promise<unknown>) {
  const sent = await commandsOf(suite, request);
  const answerWrite = sent
    .filter(
      (command) => command.name === 'update' && command.collection === 'idempotency_keys' && !command.inTransaction,
    )
    .at(-1);
  if (!answerWrite) throw new Error(`no answer write in ${JSON.stringify(sent)}`);
  return answerWrite;
}

/** Waits until `stored` reports what the abandoned request committed, then for the held write to end. */
async function untilCommittedAndAbandoned(stored: () => Promise<number>): Promise<void> {
  const giveUpAt = Date.now() + 15_000;
  while ((await stored()) === 0 && Date.now() < giveUpAt) await sleep(50);
  await sleep(HOLD_MS + 500);
}

/** Runs `request` so that it commits, answers 503, and its answer is never stored; returns the 503. */
async function commitThenDie(request: TestRequest, answerWrite: { occurrence: number }, stored: () => Promise<number>) {
  await withFault(
    suite,
    () =>
      failCommand(
        suite,
        // mongod's `{skip: n}` fires on every match after the first n: the answer's write is the
        // request's last update, and the fail point is off before the retry.
        { skip: answerWrite.occurrence },
        // Held past the deadline, then refused with a code no driver retries: the write never happens.
        { failCommands: ['update'], blockConnection: true, blockTimeMS: HOLD_MS, errorCode: 2 },
      ),
    async () => {
      const first = await invoke(
        request.route === '/orders' ? handlers.createOrder : handlers.createService,
        request,
        shortLived(),
      );
      expect(first.status).toBe(503);
      expect(first.headers['retry-after']).toBeDefined();
      await untilCommittedAndAbandoned(stored);
    },
  );
  // The container is gone; the key's lease runs out before the client's retry.
  await keys().updateMany({}, { $set: { leaseExpiresAt: new Date(Date.now() - 1_000) } });
}

describe('a create that committed and died before its answer was stored', () => {
  it('POST /services without an id: the retry with the same key replays the 201 and one service exists', async () => {
    const answerWrite = await answerWriteOf(() => api.createService({ name: 'warm-up' }, { 'idempotency-key': 'w1' }));
    const name = 'Committed then died';
    const services = () => suite.admin.db(suite.dbName).collection('services').countDocuments({ name });
    const request = { method: 'POST', route: '/services', body: { name }, headers: { 'idempotency-key': 'dead-1' } };
    await commitThenDie(request, answerWrite, services);
    expect(await services()).toBe(1);

    const retry = await invoke(handlers.createService, request);
    expect(retry.status).toBe(201);
    const stored = await suite.admin.db(suite.dbName).collection('services').find({ name }).toArray();
    expect(stored.map((service) => service._id)).toEqual([(retry.body as { id: string }).id]);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.headers.location).toBe(`/services/${(retry.body as { id: string }).id}`);

    // The answer is now stored: another retry gets the same one.
    const again = await invoke(handlers.createService, request);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(retry.body);
  });

  it('POST /orders: the retry replays the 201 naming the one stored order, not a 409 naming it as a conflict', async () => {
    expect((await api.createService({ id: 'svc-dead', name: 'x' })).status).toBe(201);
    const answerWrite = await answerWriteOf(() =>
      api.createOrder(
        { datetime: '2061-01-01T00:00:00Z', totalfee: 1, services: [{ id: 'svc-dead' }] },
        { 'idempotency-key': 'w2' },
      ),
    );
    const datetime = '2061-06-01T10:00:00.000Z';
    const orders = () =>
      suite.admin
        .db(suite.dbName)
        .collection('orders')
        .countDocuments({ datetime: new Date(datetime) });
    const body = { datetime, totalfee: 12.5, services: [{ id: 'svc-dead' }] };
    const request = { method: 'POST', route: '/orders', body, headers: { 'idempotency-key': 'dead-2' } };
    await commitThenDie(request, answerWrite, orders);
    expect(await orders()).toBe(1);

    const retry = await invoke(handlers.createOrder, request);
    expect(retry.body).toMatchObject({ datetime, totalfee: 12.5, services: [{ id: 'svc-dead' }] });
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    const stored = await suite.admin
      .db(suite.dbName)
      .collection('orders')
      .find({ datetime: new Date(datetime) })
      .toArray();
    expect(stored.map((order) => order._id)).toEqual([(retry.body as { id: string }).id]);
    expect(retry.body).toMatchObject({ datetime, totalfee: 12.5, services: [{ id: 'svc-dead' }] });
  });
});

describe('a create that outlives its claim', () => {
  it('is refused when a retry took its key over: the retry creates the one service, the late attempt nothing', async () => {
    const sent = await commandsOf(suite, () => api.createService({ name: 'warm-up 2' }, { 'idempotency-key': 'w3' }));
    // The key's outcome, written inside the create's transaction.
    const outcomeWrite = sent.find((command) => command.name === 'update' && command.inTransaction);
    if (!outcomeWrite) throw new Error(`no outcome write in ${JSON.stringify(sent)}`);
    const name = 'Outlived its lease';
    const request = { method: 'POST', route: '/services', body: { name }, headers: { 'idempotency-key': 'late-1' } };
    const client = await suite.handlersClient();
    const held = new Promise<void>((resolve) => {
      const listener = (event: CommandStartedEvent) => {
        if (event.commandName !== 'update' || event.command.autocommit !== false) return;
        client.off('commandStarted', listener);
        resolve();
      };
      client.on('commandStarted', listener);
    });
    await withFaultAt(suite, outcomeWrite, { blockConnection: true, blockTimeMS: HOLD_MS }, async () => {
      const late = invoke(handlers.createService, request);
      // While the first attempt is held, its lease runs out and the client's retry takes the key over.
      await held;
      await keys().updateMany({}, { $set: { leaseExpiresAt: new Date(Date.now() - 1_000) } });
      const retry = await invoke(handlers.createService, request);
      expect(retry.status).toBe(201);
      const lateAnswer = await late;
      expect(lateAnswer.status).toBe(409);
      expect(lateAnswer.body).toMatchObject({ type: '/problems/idempotency-key-in-progress' });
      const stored = await suite.admin.db(suite.dbName).collection('services').find({ name }).toArray();
      expect(stored.map((service) => service._id)).toEqual([(retry.body as { id: string }).id]);
      const again = await invoke(handlers.createService, request);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.body).toEqual(retry.body);
    });
  });
});
