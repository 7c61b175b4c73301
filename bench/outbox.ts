/**
 * What the transactional outbox costs per write (docs/events.md "What an event costs"), on the
 * embedded MongoDB as 8.0 and as 7.0:
 *
 * 1. Messages: each write handler (gateway mode, in-process) through a proxy that counts the
 *    wire messages one request sends (bench/lib/roundTrips.ts).
 * 2. Time, as a what-if on the driver alone: each write's MongoDB work as this branch does it
 *    (with its event) against the same work without the event, in alternating rounds, so both
 *    see the same load. The handlers themselves cannot run without their event.
 *
 * Prints a report and writes bench/results/outbox.{md,json}. Run: `npm run bench:outbox`
 * (`tsx bench/outbox.ts [rounds]`). Medians; no assertions.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type ClientSession, type Db, MongoClient } from 'mongodb';
import { startEmbeddedMongo } from '../dev/mongo/index.ts';
import { resetConfig } from '../lib/config.ts';
import { closeConnection } from '../lib/db/client.ts';
import { collections, ensureIndexes } from '../lib/db/indexes.ts';
import { call, gatewayEvent, type Invocable } from './lib/requests.ts';
import { startCountingProxy } from './lib/roundTrips.ts';
import { machine, median, round } from './lib/stats.ts';

const ROUNDS = Number(process.argv[2] ?? 200);
const TXN = { readConcern: { level: 'snapshot' }, writeConcern: { w: 'majority' } } as const;

/** An outbox document as the repositories write it (lib/db/outbox.ts), sized like a real one. */
function outboxDocument(id: string, version: number) {
  const now = new Date();
  return {
    _id: randomUUID(),
    type: 'order.updated',
    resource: `order/${id}`,
    resourceId: id,
    version,
    since: now,
    at: now,
    actor: 'bench-client',
    document: {
      _id: id,
      datetime: now,
      totalfee: 10,
      services: [{ id: 'svc' }],
      createdAt: now,
      updatedAt: now,
      version,
    },
    deliveredAt: null,
  };
}

async function inTransaction(client: MongoClient, work: (session: ClientSession) => Promise<void>): Promise<void> {
  const session = client.startSession();
  try {
    await session.withTransaction(work, TXN);
  } finally {
    await session.endSession();
  }
}

/** One write's MongoDB work, without and with its event, as a pair of what-ifs. */
interface WhatIf {
  name: string;
  prepare(client: MongoClient, db: Db, n: number): Promise<string>;
  without(client: MongoClient, db: Db, id: string): Promise<void>;
  with(client: MongoClient, db: Db, id: string): Promise<void>;
}

const outbox = (db: Db) => db.collection<{ _id: string }>(collections.outboxEvents);
const orders = (db: Db) => db.collection<{ _id: string; version: number; createdAt?: Date }>('orders');
const services = (db: Db) => db.collection<{ _id: string; version: number; name?: string }>('services');

const WHAT_IFS: WhatIf[] = [
  {
    name: 'create a service (transaction: insert, commit)',
    prepare: async (_client, _db, n) => `svc-${n}-${randomUUID()}`,
    without: (client, db, id) =>
      inTransaction(client, async (session) => {
        await services(db).insertOne({ _id: id, version: 1 }, { session });
      }),
    with: (client, db, id) =>
      inTransaction(client, async (session) => {
        await services(db).insertOne({ _id: id, version: 1 }, { session });
        await outbox(db).insertOne(outboxDocument(id, 1), { session });
      }),
  },
  {
    name: 'rename a service (before: one findAndModify; now a transaction with the insert)',
    prepare: async (_client, db, n) => {
      const id = `svc-r-${n}-${randomUUID()}`;
      await services(db).insertOne({ _id: id, version: 1 });
      return id;
    },
    without: async (_client, db, id) => {
      await services(db).findOneAndUpdate({ _id: id }, { $set: { name: 'x' }, $inc: { version: 1 } });
    },
    with: (client, db, id) =>
      inTransaction(client, async (session) => {
        const updated = await services(db).findOneAndUpdate(
          { _id: id },
          { $set: { name: 'x' }, $inc: { version: 1 } },
          { session, returnDocument: 'after' },
        );
        await outbox(db).insertOne(outboxDocument(id, updated?.version ?? 0), { session });
      }),
  },
  {
    name: 'delete an order (before: one delete; now a transaction: findAndModify, insert, commit)',
    prepare: async (_client, db, n) => {
      const id = `ord-d-${n}-${randomUUID()}`;
      await orders(db).insertOne({ _id: id, version: 1, createdAt: new Date() });
      return id;
    },
    without: async (_client, db, id) => {
      await orders(db).deleteOne({ _id: id });
    },
    with: (client, db, id) =>
      inTransaction(client, async (session) => {
        const deleted = await orders(db).findOneAndDelete({ _id: id }, { session });
        await outbox(db).insertOne(outboxDocument(id, (deleted?.version ?? 0) + 1), { session });
      }),
  },
  {
    name: 'the 8.0 create’s client bulkWrite (locks, service check, order) with the event as one more model',
    prepare: async (_client, _db, n) => `ord-b-${n}-${randomUUID()}`,
    without: (client, db, id) =>
      inTransaction(client, async (session) => {
        await client.bulkWrite(bulkModels(db, id, false), { session, ordered: true, verboseResults: true });
      }),
    with: (client, db, id) =>
      inTransaction(client, async (session) => {
        await client.bulkWrite(bulkModels(db, id, true), { session, ordered: true, verboseResults: true });
      }),
  },
];

// biome-ignore lint/suspicious/noExplicitAny: the driver's client bulkWrite models are loosely typed documents.
function bulkModels(db: Db, id: string, withEvent: boolean): any[] {
  const ns = (name: string) => `${db.databaseName}.${name}`;
  return [
    ...[`w-${id}-1`, `w-${id}-2`, `s-${id}`].map((key) => ({
      namespace: ns(collections.windowLocks),
      name: 'updateOne',
      filter: { _id: key },
      update: { $inc: { writes: 1 } },
      upsert: true,
    })),
    {
      namespace: ns(collections.services),
      name: 'updateOne',
      filter: { _id: 'svc' },
      update: { $setOnInsert: { _id: 'svc' } },
    },
    ...(withEvent
      ? [{ namespace: ns(collections.outboxEvents), name: 'insertOne', document: outboxDocument(id, 1) }]
      : []),
    { namespace: ns(collections.orders), name: 'insertOne', document: { _id: id, version: 1, createdAt: new Date() } },
  ];
}

/** Messages per write, through the handlers (with the event, as deployed). */
async function handlerMessages(port: number, version: string): Promise<Record<string, number>> {
  const proxy = await startCountingProxy(port);
  process.env.MONGODB_URI = proxy.uri;
  process.env.MONGODB_DATABASE = `bench_outbox_handlers_${version.replace('.', '')}`;
  process.env.AUTH_MODE = 'gateway';
  process.env.EVENT_BUS_NAME = '';
  resetConfig();
  await closeConnection();
  const load = async (path: string) => ((await import(path)) as { handler: Invocable }).handler;
  const handlers = {
    createService: await load('../functions/services/create.ts'),
    updateService: await load('../functions/services/update.ts'),
    deleteService: await load('../functions/services/delete.ts'),
    createOrder: await load('../functions/orders/create.ts'),
    updateOrder: await load('../functions/orders/update.ts'),
    deleteOrder: await load('../functions/orders/delete.ts'),
  };
  const order = (hour: number) => ({
    datetime: new Date(Date.UTC(2050, 0, 1) + hour * 3_600_000).toISOString(),
    totalfee: 10,
    services: [{ id: 'svc' }],
  });
  // Warm: the connection, the indexes and the first service exist before counting.
  await call(
    handlers.createService,
    gatewayEvent({ method: 'POST', route: '/services', body: { id: 'svc', name: 'S' } }),
    201,
  );
  const counted: Record<string, number> = {};
  const count = async (name: string, run: () => Promise<void>) => {
    proxy.reset();
    await run();
    counted[name] = proxy.messages();
  };
  await count('POST /services', () =>
    call(
      handlers.createService,
      gatewayEvent({ method: 'POST', route: '/services', body: { id: 'svc2', name: 'T' } }),
      201,
    ),
  );
  await count('PUT /services/{id}', () =>
    call(
      handlers.updateService,
      gatewayEvent({ method: 'PUT', route: '/services/{id}', pathParameters: { id: 'svc2' }, body: { name: 'U' } }),
      200,
    ),
  );
  await count('DELETE /services/{id}', () =>
    call(
      handlers.deleteService,
      gatewayEvent({ method: 'DELETE', route: '/services/{id}', pathParameters: { id: 'svc2' } }),
      204,
    ),
  );
  await count('POST /orders', () =>
    call(
      handlers.createOrder,
      gatewayEvent({ method: 'POST', route: '/orders', body: { id: 'o1', ...order(0) } }),
      201,
    ),
  );
  await count('PUT /orders/{id} (move)', () =>
    call(
      handlers.updateOrder,
      gatewayEvent({ method: 'PUT', route: '/orders/{id}', pathParameters: { id: 'o1' }, body: order(5) }),
      200,
    ),
  );
  await count('DELETE /orders/{id}', () =>
    call(
      handlers.deleteOrder,
      gatewayEvent({ method: 'DELETE', route: '/orders/{id}', pathParameters: { id: 'o1' } }),
      204,
    ),
  );
  await closeConnection();
  await proxy.close();
  return counted;
}

/** Median ms of each what-if without and with its event, alternating rounds. */
async function whatIfTimes(uri: string, version: string) {
  const client = await MongoClient.connect(uri);
  const db = client.db(`bench_outbox_${version.replace('.', '')}`);
  await ensureIndexes(db);
  const results: { name: string; withoutMs: number; withMs: number; addedMs: number }[] = [];
  for (const whatIf of WHAT_IFS) {
    if (whatIf.name.includes('bulkWrite') && version !== '8.0') continue;
    const without: number[] = [];
    const withEvent: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const first = await whatIf.prepare(client, db, round * 2);
      const second = await whatIf.prepare(client, db, round * 2 + 1);
      // Alternate which goes first, so neither always runs on a warmer cache.
      const pairs: [number[], () => Promise<void>][] = [
        [without, () => whatIf.without(client, db, first)],
        [withEvent, () => whatIf.with(client, db, second)],
      ];
      if (round % 2 === 1) pairs.reverse();
      for (const [times, run] of pairs) {
        const started = performance.now();
        await run();
        times.push(performance.now() - started);
      }
    }
    const withoutMs = round(median(without));
    const withMs = round(median(withEvent));
    results.push({ name: whatIf.name, withoutMs, withMs, addedMs: round(withMs - withoutMs) });
  }
  await client.close();
  return results;
}

async function main(): Promise<void> {
  const report: Record<string, unknown> = { machine: machine(), rounds: ROUNDS, at: new Date().toISOString() };
  const lines = [
    '# What an event costs per write (transactional outbox)',
    '',
    `${machine().node}, ${machine().cores} cores, ${report.at}, ${ROUNDS} rounds per what-if; medians. See bench/outbox.ts.`,
  ];
  for (const version of ['8.0', '7.0'] as const) {
    const server = await startEmbeddedMongo({ port: 0, version, log: () => {} });
    const messages = await handlerMessages(server.port, version);
    const times = await whatIfTimes(server.uri, version);
    await server.stop();
    report[version] = { messages, times };
    lines.push('', `## MongoDB ${version} (embedded)`, '', '| write | messages with its event |', '| --- | --- |');
    for (const [name, count] of Object.entries(messages)) lines.push(`| ${name} | ${count} |`);
    lines.push('', '| what-if (driver only) | without event | with event | added |', '| --- | --- | --- | --- |');
    for (const row of times) lines.push(`| ${row.name} | ${row.withoutMs} ms | ${row.withMs} ms | ${row.addedMs} ms |`);
  }
  const text = `${lines.join('\n')}\n`;
  console.log(text);
  const out = fileURLToPath(new URL('./results/', import.meta.url));
  writeFileSync(`${out}outbox.md`, text);
  writeFileSync(`${out}outbox.json`, `${JSON.stringify(report, null, 2)}\n`);
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
