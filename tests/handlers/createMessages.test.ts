/**
 * How many messages a create and a move send to MongoDB, counted by command monitoring on the
 * handlers' own client: on 8.0 (maxWireVersion 25) the client bulkWrite path, before 8.0 the
 * collection-command path; and that the fewer messages keep every answer a create or a move
 * gave (versions, refusals and their order). Run under `EMBEDDED_MONGO_VERSION=7.0` for the 7.0 half.
 */
import type { CommandStartedEvent } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { windowLockKeys, windowMs } from '#lib/domain/orderWindow';
import {
  commandsOf,
  describeCommand,
  failCommand,
  type SentCommand,
  useFaultSuite,
  withFault,
  withFaultAt,
} from '../faults/support.ts';
import { api, handlers } from '../support/api.ts';
import { invoke } from '../support/apiEvents.ts';

const suite = useFaultSuite('handlers_create_messages');
let serverIs8 = false;

beforeAll(async () => {
  serverIs8 = (await suite.admin.db('admin').command({ hello: 1 })).maxWireVersion >= 25;
  expect((await api.createService({ id: 'svc-a', name: 'A' })).status).toBe(201);
  expect((await api.createService({ id: 'svc-b', name: 'B' })).status).toBe(201);
  // The first request opens the connection and creates the indexes: not part of a create.
  expect(
    (await api.createOrder({ datetime: '2090-01-01T00:00:00.000Z', totalfee: 1, services: [{ id: 'svc-a' }] })).status,
  ).toBe(201);
});

const names = (sent: SentCommand[]) => sent.map((command) => command.name);
/** A create before 8.0 whose guard stripes are live: the locks, the neighbour probe with the order's upsert, the event, the commit. */
const CREATE_BEFORE_8 = ['update', 'update', 'insert', 'commitTransaction'];
/** A create before 8.0 on a stripe not live yet: the locks, the services read, the stripes' marking, the order, the event, the commit. */
const CREATE_BEFORE_8_UNMARKED = ['update', 'aggregate', 'update', 'insert', 'insert', 'commitTransaction'];
const order = (datetime: string) => ({ datetime, totalfee: 2, services: [{ id: 'svc-a' }, { id: 'svc-b' }] });

describe('messages per order write', () => {
  it('a create is bulkWrite (neighbour check and outbox event included), commitTransaction on 8.0 and 4 messages before 8.0', async () => {
    let status = 0;
    const sent = await commandsOf(suite, async () => {
      status = (await api.createOrder(order('2090-02-01T00:00:00.000Z'))).status;
    });
    console.log(`create (8.0: ${serverIs8}): ${sent.map(describeCommand).join(' → ')}`);
    expect(status).toBe(201);
    if (serverIs8) {
      expect(names(sent)).toEqual(['bulkWrite', 'commitTransaction']);
      expect(sent[0]?.inTransaction).toBe(true);
    } else {
      // The locks (its services' stripes live: no read of the services), the neighbour probe with
      // the order's upsert, its outbox event's insert.
      expect(names(sent)).toEqual(CREATE_BEFORE_8);
    }
  });

  it('a create with an Idempotency-Key adds its outcome write to the transaction and its claim before it', async () => {
    let status = 0;
    const sent = await commandsOf(suite, async () => {
      status = (await api.createOrder(order('2090-03-01T00:00:00.000Z'), { 'idempotency-key': 'count-1' })).status;
    });
    console.log(`create with a key (8.0: ${serverIs8}): ${sent.map(describeCommand).join(' → ')}`);
    expect(status).toBe(201);
    const transaction = sent.filter((command) => command.inTransaction || command.name === 'commitTransaction');
    expect(transaction.length).toBe(serverIs8 ? 3 : 5);
  });

  it('a create naming a missing service is refused (422) after the same claim, then aborted', async () => {
    let status = 0;
    const sent = await commandsOf(suite, async () => {
      status = (
        await api.createOrder({ datetime: '2090-04-01T00:00:00.000Z', totalfee: 1, services: [{ id: 'svc-gone' }] })
      ).status;
    });
    console.log(`create of a missing service (8.0: ${serverIs8}): ${sent.map(describeCommand).join(' → ')}`);
    expect(status).toBe(422);
    expect(names(sent)).toEqual(
      serverIs8 ? ['bulkWrite', 'abortTransaction'] : ['update', 'aggregate', 'abortTransaction'],
    );
  });

  it('a create too close to an order reads its neighbour and the nearest free datetimes only then, and is refused (409)', async () => {
    let response: Awaited<ReturnType<typeof api.createOrder>> | undefined;
    const sent = await commandsOf(suite, async () => {
      response = await api.createOrder(order('2090-02-01T02:59:59.999Z'));
    });
    console.log(`create too close (8.0: ${serverIs8}): ${sent.map(describeCommand).join(' → ')}`);
    expect(response?.status).toBe(409);
    // The 2090-02-01T00:00 order is the one refusing; the create's own order, inserted by the
    // aborted bulkWrite, is neither the conflict nor in the way of the suggestions.
    expect(response?.body).toMatchObject({
      type: '/problems/order-window-conflict',
      nearestAvailable: { before: '2090-01-31T21:00:00.000Z', after: '2090-02-01T03:00:00.000Z' },
    });
    expect(names(sent)).toEqual(
      serverIs8
        ? ['bulkWrite', 'find', 'find', 'abortTransaction']
        : ['update', 'update', 'find', 'find', 'abortTransaction'],
    );
  });

  it('a create exactly one window from an order is accepted without a read: the probe range is open at both ends', async () => {
    expect((await api.createOrder(order('2090-12-01T00:00:00.000Z'))).status).toBe(201);
    for (const datetime of ['2090-12-01T03:00:00.000Z', '2090-11-30T21:00:00.000Z']) {
      let status = 0;
      const sent = await commandsOf(suite, async () => {
        status = (await api.createOrder(order(datetime))).status;
      });
      expect(status).toBe(201);
      expect(names(sent)).toEqual(serverIs8 ? ['bulkWrite', 'commitTransaction'] : CREATE_BEFORE_8);
    }
  });

  it('a move is find (the order and its new neighbours), bulkWrite (its outbox event included), commitTransaction on 8.0 and 5 messages before 8.0', async () => {
    const created = await api.createOrder(order('2090-05-01T00:00:00.000Z'));
    const id = (created.body as { id: string }).id;
    let status = 0;
    const sent = await commandsOf(suite, async () => {
      status = (await api.updateOrder(id, order('2090-05-01T05:00:00.000Z'))).status;
    });
    console.log(`move (8.0: ${serverIs8}): ${sent.map(describeCommand).join(' → ')}`);
    expect(status).toBe(200);
    expect(names(sent)).toEqual(
      serverIs8
        ? ['find', 'bulkWrite', 'commitTransaction']
        : ['update', 'aggregate', 'update', 'insert', 'commitTransaction'],
    );
    expect(sent.every((command) => command.inTransaction)).toBe(true);
  });

  it('a move answers with the version it stored as its ETag and keeps createdAt', async () => {
    const created = await api.createOrder(order('2090-10-01T00:00:00.000Z'));
    const id = (created.body as { id: string }).id;
    const first = await api.updateOrder(id, order('2090-10-01T04:00:00.000Z'));
    const second = await api.updateOrder(id, { ...order('2090-10-01T04:00:00.000Z'), totalfee: 9 });
    expect([created.headers.etag, first.headers.etag, second.headers.etag]).toEqual(['"1"', '"2"', '"3"']);
    const stored = await suite.admin
      .db(suite.dbName)
      .collection('orders')
      .findOne({ _id: id } as never);
    expect(stored).toMatchObject({
      version: 3,
      totalfee: 9,
      createdAt: new Date((created.body as { createdAt: string }).createdAt),
    });
    expect((await api.getOrder(id)).headers.etag).toBe('"3"');
    expect(second.body).toEqual((await api.getOrder(id)).body);
  });

  it("a create committed into the window between a move's read and its write makes the move retry, read it and answer 409", async () => {
    // The move's first write (8.0: the bulkWrite after its find; 7.0: the locks' update) is held
    // while a create commits one hour from the move's target. On 8.0 the move's snapshot is fixed
    // by its find, before that commit: only its window locks can tell it (a WriteConflict, retried
    // from the find). A move that wrote no window lock would commit beside the new order.
    // Another service than the move's: the two writes share no guard stripe, only window locks.
    expect((await api.createService({ id: 'svc-c', name: 'C' })).status).toBe(201);
    const mover = await api.createOrder(order('2090-12-20T00:00:00.000Z'));
    const id = (mover.body as { id: string }).id;
    const target = '2090-12-25T00:00:00.000Z';
    const client = await suite.handlersClient();
    const firstWrite = serverIs8 ? 'bulkWrite' : 'update';
    let held: () => void = () => {};
    const writeSent = new Promise<void>((resolve) => {
      held = resolve;
    });
    const listener = (event: CommandStartedEvent) => {
      if (event.commandName === firstWrite) held();
    };
    client.on('commandStarted', listener);
    let created = 0;
    const sent = await commandsOf(suite, () =>
      withFault(
        suite,
        () =>
          failCommand(suite, { times: 1 }, { failCommands: [firstWrite], blockConnection: true, blockTimeMS: 1_500 }),
        async () => {
          const move = api.updateOrder(id, order(target));
          await writeSent;
          client.off('commandStarted', listener);
          created = (
            await api.createOrder({
              id: 'raced-in',
              datetime: '2090-12-25T01:00:00.000Z',
              totalfee: 1,
              services: [{ id: 'svc-c' }],
            })
          ).status;
          const moved = await move;
          expect(moved.status).toBe(409);
          expect(moved.body).toMatchObject({ conflictingOrderId: 'raced-in' });
        },
      ),
    ).finally(() => client.off('commandStarted', listener));
    expect(created).toBe(201);
    if (serverIs8) {
      // The move's find, its held bulkWrite (a write conflict), then again from the find: it re-read.
      const move = names(sent).filter((name) => name === 'find');
      expect(move.length).toBeGreaterThanOrEqual(2);
    }
    expect((await api.getOrder(id)).body).toEqual(mover.body);
  });

  it('refuses a move in the order it always did: 404, then 412, then the window 409, then 422', async () => {
    const put = (id: string, body: unknown, ifMatch?: string) =>
      invoke(handlers.updateOrder, {
        method: 'PUT',
        route: '/orders/{id}',
        pathParameters: { id },
        body,
        ...(ifMatch && { headers: { 'if-match': ifMatch } }),
      });
    const anchor = await api.createOrder(order('2090-11-01T00:00:00.000Z'));
    expect(anchor.status).toBe(201);
    const mover = await api.createOrder(order('2090-11-02T00:00:00.000Z'));
    const id = (mover.body as { id: string }).id;
    // Too close to the anchor and naming a missing service: every refusal applies at once.
    const everything = { datetime: '2090-11-01T01:00:00.000Z', totalfee: 1, services: [{ id: 'svc-gone' }] };
    expect((await put('no-such-order', everything, '"1"')).status).toBe(404);
    const stale = await put(id, everything, '"7"');
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ detail: expect.stringContaining('version 1') });
    expect(await put(id, everything, '"1"')).toMatchObject({
      status: 409,
      body: { type: '/problems/order-window-conflict' },
    });
    expect(await put(id, { ...everything, datetime: '2090-11-03T00:00:00.000Z' }, '"1"')).toMatchObject({
      status: 422,
      body: { missingServiceIds: ['svc-gone'] },
    });
    // Nothing of the refused moves was kept.
    expect((await api.getOrder(id)).headers.etag).toBe('"1"');
    expect((await api.getOrder(id)).body).toEqual(mover.body);
  });

  it('a create too close to an order and naming only missing services is the 409, not the 422', async () => {
    const response = await api.createOrder({
      datetime: '2090-02-01T01:00:00.000Z',
      totalfee: 1,
      services: [{ id: 'svc-gone' }],
    });
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({ type: '/problems/order-window-conflict' });
  });

  it('a create reusing an order id, too close to another order, is the window 409 as before 8.0', async () => {
    expect((await api.createOrder({ id: 'dup-1', ...order('2090-08-01T00:00:00.000Z') })).status).toBe(201);
    const again = await api.createOrder({ id: 'dup-1', ...order('2090-02-01T02:00:00.000Z') });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ type: '/problems/order-window-conflict' });
    let elsewhere: Awaited<ReturnType<typeof api.createOrder>> | undefined;
    const sent = await commandsOf(suite, async () => {
      elsewhere = await api.createOrder({ id: 'dup-1', ...order('2090-09-01T00:00:00.000Z') });
    });
    expect(elsewhere?.body).toMatchObject({ status: 409, type: '/problems/duplicate-id' });
    console.log(`create of a taken id (8.0: ${serverIs8}): ${sent.map(describeCommand).join(' → ')}`);
    // Before 8.0 (a server's, or 8.0's rerun on that path, whose stripes it never marked) the
    // order's upsert matching the stored order is the refusal: not a neighbour, no neighbour read.
    expect(names(sent).slice(serverIs8 ? -5 : -3)).toEqual(
      serverIs8
        ? ['update', 'aggregate', 'update', 'insert', 'abortTransaction']
        : ['update', 'update', 'abortTransaction'],
    );
  });

  it('a create naming a service deleted since its stripes were marked is refused (422): the delete un-marked them', async () => {
    expect((await api.createService({ id: 'svc-deleted', name: 'D' })).status).toBe(201);
    expect((await api.deleteService('svc-deleted')).status).toBe(204);
    let response: Awaited<ReturnType<typeof api.createOrder>> | undefined;
    const sent = await commandsOf(suite, async () => {
      response = await api.createOrder({
        datetime: '2090-04-05T00:00:00.000Z',
        totalfee: 1,
        services: [{ id: 'svc-a' }, { id: 'svc-deleted' }],
      });
    });
    expect(response?.status).toBe(422);
    expect(response?.body).toMatchObject({ missingServiceIds: ['svc-deleted'] });
    expect(names(sent)).toEqual(
      serverIs8 ? ['bulkWrite', 'abortTransaction'] : ['update', 'aggregate', 'abortTransaction'],
    );
  });

  it('stripes an earlier release wrote (never marked) cost a create the services read once, then no more', async () => {
    expect((await api.createService({ id: 'svc-legacy', name: 'L' })).status).toBe(201);
    // What the stripes of a service created by an earlier release look like: written, never marked.
    await suite.admin
      .db(suite.dbName)
      .collection<{ _id: string }>('order_window_locks')
      .updateMany({ _id: { $regex: '^service:svc-legacy:' } }, { $unset: { live: '' }, $inc: { writes: 1 } });
    const booking = (datetime: string) => ({ datetime, totalfee: 1, services: [{ id: 'svc-legacy' }] });
    const first = await commandsOf(suite, async () => {
      expect((await api.createOrder(booking('2091-01-01T00:00:00.000Z'))).status).toBe(201);
    });
    // 64 window buckets (8 days) later: the same stripe.
    const again = await commandsOf(suite, async () => {
      expect((await api.createOrder(booking('2091-01-09T00:00:00.000Z'))).status).toBe(201);
    });
    expect([names(first), names(again)]).toEqual(
      serverIs8
        ? [
            ['bulkWrite', 'commitTransaction'],
            ['bulkWrite', 'commitTransaction'],
          ]
        : [CREATE_BEFORE_8_UNMARKED, CREATE_BEFORE_8],
    );
  });

  it("a write conflict on the create's bulkWrite retries it on the 8.0 path, which stays on", async () => {
    const request = () => api.createOrder(order('2090-05-01T00:00:00.000Z'));
    if (!serverIs8) {
      // Before 8.0 there is no bulkWrite to conflict: the create is the four messages as always.
      const sent = await commandsOf(suite, async () => expect((await request()).status).toBe(201));
      expect(names(sent)).toEqual(CREATE_BEFORE_8);
      return;
    }
    let status = 0;
    const sent = await commandsOf(suite, async () => {
      status = (
        await withFault(
          suite,
          () =>
            failCommand(
              suite,
              { times: 1 },
              { errorCode: 112, errorLabels: ['TransientTransactionError'], failCommands: ['bulkWrite'] },
            ),
          request,
        )
      ).status;
    });
    expect(status).toBe(201);
    // A transient conflict is not a server without bulkWrite: the retry and the next create use it.
    expect(names(sent).filter((name) => name === 'bulkWrite')).toHaveLength(2);
    const next = await commandsOf(suite, () => api.createOrder(order('2090-05-02T00:00:00.000Z')));
    expect(names(next)).toEqual(['bulkWrite', 'commitTransaction']);
  });

  it('a create writes its window locks even where they exist already: a real write, so two creates into one window conflict', async () => {
    const datetime = '2092-03-01T00:00:00.000Z';
    const locks = suite.admin.db(suite.dbName).collection<{ _id: string; writes?: number }>('order_window_locks');
    const keys = windowLockKeys(new Date(datetime), windowMs(180));
    const writesOf = async () =>
      (await locks.find({ _id: { $in: keys } }).toArray()).map((lock) => [lock._id, lock.writes]);
    const first = await api.createOrder(order(datetime));
    expect(first.status).toBe(201);
    const before = await writesOf();
    expect(before).toHaveLength(keys.length);
    expect((await api.deleteOrder((first.body as { id: string }).id)).status).toBe(204);
    expect((await api.createOrder(order(datetime))).status).toBe(201);
    expect(await writesOf()).toEqual(before.map(([key, writes]) => [key, Number(writes) + 1]));
  });

  it('a service create that fails after its insert leaves neither the service nor a stripe that vouches for it', async () => {
    // The service's insert is the create's first insert, its outbox event's the second.
    const eventInsert: SentCommand = {
      name: 'insert',
      collection: 'outbox_events',
      inTransaction: true,
      occurrence: 1,
      takesWriteConcern: false,
    };
    const failed = await withFaultAt(suite, eventInsert, { errorCode: 2, errorLabels: [] }, () =>
      api.createService({ id: 'svc-failed', name: 'F' }),
    );
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expect((await api.getService('svc-failed')).status).toBe(404);
    const booking = await api.createOrder({
      datetime: '2092-04-01T00:00:00.000Z',
      totalfee: 1,
      services: [{ id: 'svc-failed' }],
    });
    expect(booking.status).toBe(422);
  });

  // Last: it turns the 8.0 path off for the rest of this connection.
  it('an 8.0 server that refuses the client bulkWrite (59) gets the create on the 7.0 path, and every later one', async () => {
    const request = () => api.createOrder(order('2090-06-01T00:00:00.000Z'));
    let status = 0;
    const sent = await commandsOf(suite, async () => {
      if (!serverIs8) {
        status = (await request()).status;
        return;
      }
      status = (
        await withFault(
          suite,
          () => failCommand(suite, { times: 1 }, { errorCode: 59, failCommands: ['bulkWrite'] }),
          request,
        )
      ).status;
    });
    console.log(`create refused its bulkWrite (8.0: ${serverIs8}): ${sent.map(describeCommand).join(' → ')}`);
    expect(status).toBe(201);
    // Services created on the 8.0 path have no live stripes: the first 7.0 create on a stripe reads
    // the services and marks it; on a 7.0 server the service create marked them all.
    expect(names(sent).slice(serverIs8 ? -6 : -4)).toEqual(serverIs8 ? CREATE_BEFORE_8_UNMARKED : CREATE_BEFORE_8);
    const next = await commandsOf(suite, () => api.createOrder(order('2090-07-01T00:00:00.000Z')));
    expect(names(next)).toEqual(serverIs8 ? CREATE_BEFORE_8_UNMARKED : CREATE_BEFORE_8);
    // 64 window buckets (8 days) later: the stripe the first one marked, now live.
    const marked = await commandsOf(suite, () => api.createOrder(order('2090-06-09T00:00:00.000Z')));
    expect(names(marked)).toEqual(CREATE_BEFORE_8);
  });
});
