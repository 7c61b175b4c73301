/**
 * Every write endpoint × every command its path sends × each fault kind, through real fail points
 * (failCommand) on the handlers' own connection. For each case the answer is the endpoint's
 * success or a 503 with Retry-After (a create may also say 409 "still being processed", with
 * Retry-After), never anything else; a 503 retried as a client would (same request, same
 * Idempotency-Key for a create) converges; and the stored state agrees with the final answer: a
 * create stored exactly once under the id it answered, its key holding the answer; a replace
 * stored as sent, at the version its ETag names; a delete gone. And the outbox agrees with the
 * state: one event per committed version of the resource, none for an attempt that did not commit
 * (lib/db/outbox.ts). README "Faults" lists the matrix.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { windowMs } from '#lib/domain/orderWindow';
import { DEADLINE_MARGIN_MS } from '#lib/http/deadline';
import type { ApiHandler } from '#lib/http/httpHandler';
import { api, handlers } from '../support/api.ts';
import { invoke, lambdaContext, type TestRequest, type TestResponse } from '../support/apiEvents.ts';
import { commandsOf, describeCommand, type SentCommand, settled, useFaultSuite, withFaultAt } from './support.ts';

const suite = useFaultSuite('faults_writes');

/** How long `blockConnection` holds a command: past the deadline below (300 ms after the start). */
const BLOCK_MS = 1_000;
const DEADLINE_AFTER_MS = 300;

interface Fault {
  name: string;
  /** Whether the fault can be injected on this command (as mongod could produce it there). */
  applies(command: SentCommand): boolean;
  data: Document;
  /** Sent with a Lambda context whose deadline falls inside the block. */
  pastDeadline?: boolean;
}

const FAULTS: Fault[] = [
  {
    // Only inside a transaction: mongod retries a write conflict of a single write itself.
    name: 'write conflict (112)',
    applies: (c) => c.inTransaction && c.name !== 'commitTransaction',
    data: { errorCode: 112 },
  },
  { name: 'not writable primary (10107)', applies: () => true, data: { errorCode: 10107 } },
  { name: 'interrupted by a step-down (11602)', applies: () => true, data: { errorCode: 11602 } },
  { name: 'connection closed', applies: () => true, data: { closeConnection: true } },
  {
    // The write applies, then its acknowledgement fails; the driver retries it (same txnNumber).
    name: 'write-concern error 91 (applied, unacknowledged)',
    applies: (c) => c.takesWriteConcern,
    data: { writeConcernError: { code: 91, codeName: 'ShutdownInProgress', errmsg: 'Replication is being shut down' } },
  },
  {
    // Applied, then an error the driver does not retry (MaxTimeMSExpired): on a commit, the
    // request fails (503) although its change committed; the retry must replay it, not redo it.
    // Not on the key's claim: that one leaves the key claimed until its lease runs out (35 s,
    // 409 "still being processed" until then; README "Faults").
    name: 'write-concern error 50 (applied, not retried)',
    applies: (c) => c.takesWriteConcern && !(c.name === 'insert' && c.collection === 'idempotency_keys'),
    data: { writeConcernError: { code: 50, codeName: 'MaxTimeMSExpired', errmsg: 'operation exceeded time limit' } },
  },
  {
    name: 'TransientTransactionError label',
    applies: (c) => c.inTransaction && c.name !== 'commitTransaction',
    data: { errorCode: 24, errorLabels: ['TransientTransactionError'] },
  },
  {
    // The driver retries the commit (as majority): the fail point fired before it ran, so the retry commits it.
    name: 'UnknownTransactionCommitResult label',
    applies: (c) => c.name === 'commitTransaction',
    data: { errorCode: 64, errorLabels: ['UnknownTransactionCommitResult'] },
  },
  {
    // MaxTimeMSExpired: the one commit result the driver does not retry; the API answers 503.
    name: 'commit timed out (50, UnknownTransactionCommitResult)',
    applies: (c) => c.name === 'commitTransaction',
    data: { errorCode: 50, errorLabels: ['UnknownTransactionCommitResult'] },
  },
  {
    name: 'blocked past the deadline',
    applies: () => true,
    data: { blockConnection: true, blockTimeMS: BLOCK_MS },
    pastDeadline: true,
  },
];

/** One write endpoint as the matrix drives it. */
interface WriteCase {
  name: string;
  handler: ApiHandler;
  /** Its success status. */
  success: number;
  /** Prepares what the request needs (before any fail point) and returns the request. */
  prepare(n: number): Promise<TestRequest>;
  /**
   * Checks the stored state against the final answer; `overlapped` when a retry ran while the
   * attempt the deadline abandoned was still running.
   */
  verify(request: TestRequest, final: TestResponse, overlapped: boolean): Promise<void>;
}

const SERVICE = 'svc-faults';
const collection = (name: string) => suite.admin.db(suite.dbName).collection<Document>(name);
const day = (n: number) => new Date(Date.UTC(2070, 0, 1) + n * 86_400_000);

async function createdOrder(n: number): Promise<string> {
  const created = await api.createOrder({ datetime: day(n).toISOString(), totalfee: 1, services: [{ id: SERVICE }] });
  if (created.status !== 201) throw new Error(`set-up order: ${created.status} ${created.rawBody}`);
  return (created.body as { id: string }).id;
}

async function createdService(n: number): Promise<string> {
  const created = await api.createService({ id: `svc-del-${n}`, name: 'to delete' });
  if (created.status !== 201) throw new Error(`set-up service: ${created.status} ${created.rawBody}`);
  return `svc-del-${n}`;
}

/**
 * The transactional outbox agrees with what is stored: the resource's events are one per
 * committed version, 1 to the stored version (or, after a delete, to the deleted version + 1,
 * the last a delete), none for an attempt that failed or was refused.
 */
async function expectOutboxMatches(kind: 'order' | 'service', id: string, stored: number | 'deleted'): Promise<void> {
  const events = await collection('outbox_events')
    .find({ resource: `${kind}/${id}` })
    .sort({ version: 1 })
    .toArray();
  const versions = events.map((event) => event.version);
  expect(versions, `outbox of ${kind}/${id}`).toEqual(versions.map((_, index) => index + 1));
  if (stored === 'deleted') expect(events.at(-1)?.type).toBe(`${kind}.deleted`);
  else expect(versions.at(-1)).toBe(stored);
}

/**
 * A replace's ETag names the stored version, or the one before it: a PUT retried while the
 * attempt the deadline abandoned still runs may be applied by both, the abandoned one last
 * (same content, one version on). An unconditional PUT is last-writer-wins; If-Match guards it.
 */
function expectVersionAnswered(final: TestResponse, stored: number | undefined, overlapped: boolean): void {
  const answered = Number(/^"(\d+)"$/.exec(final.headers.etag ?? '')?.[1]);
  expect(overlapped ? [stored, (stored ?? 0) - 1] : [stored]).toContain(answered);
}

/** A create's key holds its answer: it is not left claimed. */
async function expectKeyAnswered(key: string): Promise<void> {
  const records = await collection('idempotency_keys')
    .find({ _id: { $regex: `:${key}$` } } as Document)
    .toArray();
  expect(records).toHaveLength(1);
  expect(records[0]?.response?.statusCode).toBe(201);
}

const CASES: WriteCase[] = [
  {
    name: 'POST /services (no id, Idempotency-Key)',
    handler: handlers.createService,
    success: 201,
    prepare: async (n) => ({
      method: 'POST',
      route: '/services',
      body: { name: `created ${n}` },
      headers: { 'idempotency-key': `svc-key-${n}` },
    }),
    verify: async (request, final) => {
      const name = (request.body as { name: string }).name;
      const stored = await collection('services').find({ name }).toArray();
      expect(stored.map((service) => service._id)).toEqual([(final.body as { id: string }).id]);
      await expectKeyAnswered(request.headers?.['idempotency-key'] as string);
      await expectOutboxMatches('service', stored[0]?._id as unknown as string, 1);
    },
  },
  {
    name: 'POST /orders (no id, Idempotency-Key)',
    handler: handlers.createOrder,
    success: 201,
    prepare: async (n) => ({
      method: 'POST',
      route: '/orders',
      body: { datetime: day(n).toISOString(), totalfee: 7.25, services: [{ id: SERVICE }] },
      headers: { 'idempotency-key': `order-key-${n}` },
    }),
    verify: async (request, final) => {
      const datetime = new Date((request.body as { datetime: string }).datetime);
      const stored = await collection('orders').find({ datetime }).toArray();
      expect(stored.map((order) => order._id)).toEqual([(final.body as { id: string }).id]);
      expect(final.body).toMatchObject({ totalfee: 7.25, datetime: datetime.toISOString() });
      await expectKeyAnswered(request.headers?.['idempotency-key'] as string);
      await expectOutboxMatches('order', stored[0]?._id as unknown as string, 1);
    },
  },
  {
    name: 'PUT /orders/{id} (a move)',
    handler: handlers.updateOrder,
    success: 200,
    prepare: async (n) => {
      const id = await createdOrder(n);
      const moved = new Date(day(n).getTime() + 3_600_000).toISOString();
      return {
        method: 'PUT',
        route: '/orders/{id}',
        pathParameters: { id },
        body: { datetime: moved, totalfee: 9, services: [{ id: SERVICE }] },
      };
    },
    verify: async (request, final, overlapped) => {
      const stored = await collection('orders').findOne({ _id: request.pathParameters?.id } as Document);
      expect(stored?.datetime.toISOString()).toBe((request.body as { datetime: string }).datetime);
      expect(stored?.totalfee).toBe(9);
      expectVersionAnswered(final, stored?.version, overlapped);
      await expectOutboxMatches('order', request.pathParameters?.id as string, stored?.version);
    },
  },
  {
    name: 'DELETE /orders/{id}',
    handler: handlers.deleteOrder,
    success: 204,
    prepare: async (n) => {
      const id = await createdOrder(n);
      return { method: 'DELETE', route: '/orders/{id}', pathParameters: { id } };
    },
    verify: async (request) => {
      expect(await collection('orders').countDocuments({ _id: request.pathParameters?.id } as Document)).toBe(0);
      await expectOutboxMatches('order', request.pathParameters?.id as string, 'deleted');
    },
  },
  {
    name: 'PUT /services/{id}',
    handler: handlers.updateService,
    success: 200,
    prepare: async (n) => {
      const id = await createdService(n);
      return { method: 'PUT', route: '/services/{id}', pathParameters: { id }, body: { name: `renamed ${n}` } };
    },
    verify: async (request, final, overlapped) => {
      const stored = await collection('services').findOne({ _id: request.pathParameters?.id } as Document);
      expect(stored?.name).toBe((request.body as { name: string }).name);
      expectVersionAnswered(final, stored?.version, overlapped);
      await expectOutboxMatches('service', request.pathParameters?.id as string, stored?.version);
    },
  },
  {
    name: 'DELETE /services/{id}',
    handler: handlers.deleteService,
    success: 204,
    prepare: async (n) => {
      const id = await createdService(n);
      return { method: 'DELETE', route: '/services/{id}', pathParameters: { id } };
    },
    verify: async (request) => {
      expect(await collection('services').countDocuments({ _id: request.pathParameters?.id } as Document)).toBe(0);
      await expectOutboxMatches('service', request.pathParameters?.id as string, 'deleted');
    },
  },
];

const isRetryLater = (response: TestResponse) =>
  response.status === 503 ||
  (response.status === 409 && (response.body as { type?: string }).type === '/problems/idempotency-key-in-progress');

let counter = 0;
/** First answers per fault kind, for the printed report. */
const outcomes = new Map<string, Map<number, number>>();

/** Runs one case: prepare, fault, request, retries until an answer that is not "later"; checks the state. */
async function runCase(write: WriteCase, fault: Fault, command: SentCommand): Promise<void> {
  counter += 1;
  const request = await write.prepare(counter);
  const context = fault.pastDeadline
    ? { ...lambdaContext(), getRemainingTimeInMillis: () => DEADLINE_MARGIN_MS + DEADLINE_AFTER_MS }
    : lambdaContext();
  let answer = await withFaultAt(suite, command, fault.data, () => invoke(write.handler, request, context));
  const byStatus = outcomes.get(fault.name) ?? new Map<number, number>();
  byStatus.set(answer.status, (byStatus.get(answer.status) ?? 0) + 1);
  outcomes.set(fault.name, byStatus);
  const where = `${write.name}, ${fault.name} at ${describeCommand(command)}`;
  const answers = [answer.status];
  for (let attempt = 0; isRetryLater(answer) && attempt < 40; attempt += 1) {
    expect(answer.headers['retry-after'], where).toMatch(/^\d+$/);
    await sleep(100);
    answer = await invoke(write.handler, request);
    answers.push(answer.status);
  }
  // The request the deadline abandoned has finished (the retries above may have run beside it,
  // as a client's would): its commands must not count towards the next case's fail point.
  if (fault.pastDeadline) await settled(suite, BLOCK_MS);
  // A delete retried after its first attempt applied finds nothing: its 404 agrees with the state.
  const retriedDelete = write.success === 204 && answers.length > 1 && answer.status === 404;
  expect(retriedDelete ? 204 : answer.status, `${where}: answers ${answers.join(' → ')} ${answer.rawBody ?? ''}`).toBe(
    write.success,
  );
  await write.verify(request, answer, fault.pastDeadline === true);
}

beforeAll(async () => {
  expect((await api.createService({ id: SERVICE, name: 'faults' })).status).toBe(201);
});

afterAll(() => {
  const lines = [...outcomes].map(
    ([fault, byStatus]) =>
      `  ${fault}: ${[...byStatus]
        .sort(([a], [b]) => a - b)
        .map(([status, count]) => `${count}× ${status}`)
        .join(', ')}`,
  );
  console.log(`fault suite, first answers per fault kind (then retried to the success):\n${lines.join('\n')}`);
});

describe.each(CASES)('$name', (write) => {
  let sequence: SentCommand[] = [];

  beforeAll(async () => {
    counter += 1;
    const request = await write.prepare(counter);
    sequence = await commandsOf(suite, () => invoke(write.handler, request));
  });

  it('sends the commands the matrix targets (recorded from a clean run)', () => {
    expect(sequence.length).toBeGreaterThan(0);
    console.log(`${write.name}: ${sequence.map(describeCommand).join(' → ')}`);
  });

  it.each(FAULTS)(
    'stores what it answers under $name at each command of its path',
    { timeout: 120_000 },
    async (fault) => {
      const targets = sequence.filter((command) => fault.applies(command));
      for (const command of targets) await runCase(write, fault, command);
      // Every write runs a transaction (its change and its outbox event), so every fault applies somewhere.
      expect(targets.length).toBeGreaterThan(0);
    },
  );
});

describe('after every case', () => {
  it('no two stored orders are closer than the window', async () => {
    const orders = await collection('orders').find({}).sort({ datetime: 1 }).toArray();
    expect(orders.length).toBeGreaterThan(0);
    for (let i = 1; i < orders.length; i += 1) {
      const gap = orders[i]?.datetime.getTime() - orders[i - 1]?.datetime.getTime();
      expect(gap).toBeGreaterThanOrEqual(windowMs(180));
    }
  });
});
