/**
 * Warm overhead and scale, in one process of their own (the database runs in the parent):
 * `node --import tsx bench/phases/warmChild.ts <results.json>` with MONGODB_URI set.
 *
 * Warm: the handlers (functions/orders/*.ts, gateway auth mode, as deployed) invoked with
 * realistic API Gateway v2 events, interleaved call by call with the bare driver calls doing
 * the same work and with the Express lambdalith (serverless-http handler, in process).
 * Scale: create and list latency with 1,000 then 100,000 then again 1,000 existing orders
 * (the second 1,000 run controls for drift during the phase).
 */
import { writeFileSync } from 'node:fs';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { type Db, MongoClient } from 'mongodb';
import { resetConfig } from '#lib/config';
import { closeConnection } from '#lib/db/client';
import { apiMetrics } from '#lib/http/middleware/metrics';
import { logger } from '#lib/http/requestLog';
import { METRIC } from '#lib/observability/metricNames';
import { handler as createOrder } from '../../functions/orders/create.ts';
import { handler as getOrder } from '../../functions/orders/get.ts';
import { handler as listOrders } from '../../functions/orders/list.ts';
import { handler as updateOrder } from '../../functions/orders/update.ts';
import {
  call,
  events,
  HOUR,
  type Invocable,
  orderBody,
  SEED_BASE,
  SEED_SPACING,
  seedOrderId,
  seedOrders,
  seedServices,
  slotAfter,
} from '../lib/requests.ts';
import { startCountingProxy } from '../lib/roundTrips.ts';
import { seededRandom, shuffled, summarize } from '../lib/stats.ts';

const resultsPath = process.argv[2] as string;
const uri = process.env.MONGODB_URI as string;
const scale = Number(process.env.BENCH_SCALE ?? 1);
const logLevel = logger.getLevelName();
const log = (line: string) => process.stderr.write(`${line}\n`);

/**
 * The metrics middleware in a middy chain of its own around a canned 201: an upper bound, since
 * httpHandler calls its steps directly around the deadline race (no chain of their own).
 */
const metricsOnly = middy<APIGatewayProxyEventV2>({ timeoutEarlyInMillis: 0 })
  .use(apiMetrics(METRIC.orderCreated))
  .handler(async () => ({ statusCode: 201, headers: {}, body: '{}' }));
const metricsContext = { functionName: 'createOrder' } as Context;

interface Variant<T> {
  name: string;
  /** Untimed, before the call. */
  prepare: (i: number) => T;
  run: (input: T) => Promise<unknown>;
  /** Untimed, after the call (whatever `prepare` changed for it is put back here). */
  finish?: () => void;
}

/**
 * Runs every variant once per iteration, in a fresh random order each time (see `shuffled`: the
 * same seed every run), timing each call; drops the warm-up.
 */
async function interleaved<T>(
  variants: Variant<T>[],
  warmup: number,
  iterations: number,
): Promise<Map<string, number[]>> {
  const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const order = seededRandom(2026);
  for (let i = 0; i < warmup + iterations; i++) {
    for (const variant of shuffled(variants, order)) {
      const input = variant.prepare(i);
      const startedAt = performance.now();
      await variant.run(input);
      const elapsed = performance.now() - startedAt;
      variant.finish?.();
      if (i >= warmup) (samples.get(variant.name) as number[]).push(elapsed);
    }
  }
  return samples;
}

function summaries(samples: Map<string, number[]>) {
  return Object.fromEntries([...samples].map(([name, xs]) => [name, summarize(xs, 4)]));
}

async function useDatabase(name: string): Promise<void> {
  process.env.MONGODB_DATABASE = name;
  resetConfig();
  await closeConnection();
}

let bareIds = 0;

/** The orders collection's window check and insert, as the bare driver would do them. */
function barePair(db: Db) {
  const orders = db.collection<{ _id: string; datetime: Date }>('orders');
  return async (datetime: Date, body: { totalfee: number; services: { id: string }[] }) => {
    const id = `bare-${process.pid}-${bareIds++}`;
    const window = 3 * HOUR;
    await orders.findOne(
      {
        datetime: { $gt: new Date(datetime.getTime() - window), $lt: new Date(datetime.getTime() + window) },
        _id: { $ne: id },
      },
      { projection: { _id: 1, datetime: 1 } },
    );
    const now = new Date();
    await orders.insertOne({ _id: id, datetime, ...body, createdAt: now, updatedAt: now, version: 1 } as never);
  };
}

async function warm(client: MongoClient) {
  log('warm: seeding 1,000 orders');
  await useDatabase('bench_warm');
  const db = client.db('bench_warm');
  await db.dropDatabase();
  await seedServices(db);
  // The first invocation opens the handlers' connection and creates the indexes (lib/db/indexes.ts).
  await call(getOrder as Invocable, events.getOrder('does-not-exist'), 404);
  await seedOrders(db, 0, 1000);
  process.env.MONGODB_DATABASE = 'bench_warm';
  const { handler: expressHandler } = await import('../baseline/expressApp.ts');
  const express = expressHandler as unknown as Invocable;
  const orders = db.collection<{ _id: string }>('orders');
  const random = seededRandom(42);
  const randomId = () => seedOrderId(Math.floor(random() * 1000));

  log('warm: GET by id');
  const getIterations = Math.round(2000 * scale);
  const get = await interleaved<{ id: string; event?: ReturnType<typeof events.getOrder> }>(
    [
      {
        name: 'handler',
        prepare: () => ({ id: '', event: events.getOrder(randomId()) }),
        run: (x) => call(getOrder as Invocable, x.event as never, 200),
      },
      {
        // Diagnostic: the same handler with its one-line request log switched off, to show that
        // log's share. The level is switched outside the timed call (setLogLevel has a cost of its own).
        name: 'handler, request log off (diagnostic)',
        prepare: () => {
          logger.setLogLevel('SILENT');
          return { id: '', event: events.getOrder(randomId()) };
        },
        run: (x) => call(getOrder as Invocable, x.event as never, 200),
        finish: () => logger.setLogLevel(logLevel),
      },
      { name: 'driver', prepare: () => ({ id: randomId() }), run: (x) => orders.findOne({ _id: x.id }) },
      {
        name: 'express',
        prepare: () => ({ id: '', event: events.getOrder(randomId()) }),
        run: (x) => call(express, x.event as never, 200),
      },
    ],
    300,
    getIterations,
  );

  log('warm: GET list (first page of 20 from a random datetime)');
  const listQuery = () => ({
    from: new Date(SEED_BASE + Math.floor(random() * 1000) * SEED_SPACING).toISOString(),
    limit: '20',
  });
  const list = await interleaved<{ from: Date; event?: ReturnType<typeof events.listOrders> }>(
    [
      {
        name: 'handler',
        prepare: () => ({ from: new Date(0), event: events.listOrders(listQuery()) }),
        run: (x) => call(listOrders as Invocable, x.event as never, 200),
      },
      {
        name: 'driver',
        prepare: () => ({ from: new Date(listQuery().from) }),
        run: (x) =>
          orders
            .find({ datetime: { $gte: x.from } } as never)
            .sort({ datetime: 1, _id: 1 })
            .limit(21)
            .toArray(),
      },
      {
        name: 'express',
        prepare: () => ({ from: new Date(0), event: events.listOrders(listQuery()) }),
        run: (x) => call(express, x.event as never, 200),
      },
    ],
    100,
    Math.round(800 * scale),
  );

  log('warm: create');
  // New orders go after the seeded ones, 4 hours apart: every create passes the 3-hour rule.
  let slot = 0;
  const nextSlot = () => new Date(SEED_BASE + 2000 * SEED_SPACING + slot++ * 4 * HOUR);
  const pair = barePair(db);
  const create = await interleaved<{ datetime: Date; event?: ReturnType<typeof events.createOrder> }>(
    [
      {
        name: 'handler',
        prepare: (i) => ({ datetime: new Date(0), event: events.createOrder(orderBody(nextSlot(), i)) }),
        run: (x) => call(createOrder as Invocable, x.event as never, 201),
      },
      {
        name: 'handler + Idempotency-Key',
        prepare: (i) => ({
          datetime: new Date(0),
          event: events.createOrder(orderBody(nextSlot(), i), { 'idempotency-key': `bench-${process.pid}-${i}` }),
        }),
        run: (x) => call(createOrder as Invocable, x.event as never, 201),
      },
      {
        // Diagnostic: what the metrics middleware adds to each create at most (counting
        // OrderCreated, serialising and writing the EMF line, here inside a middy chain), with no handler.
        name: 'metrics middleware alone (diagnostic)',
        prepare: () => ({ datetime: new Date(0) }),
        run: () => metricsOnly({} as APIGatewayProxyEventV2, metricsContext),
      },
      {
        name: 'driver',
        prepare: () => ({ datetime: nextSlot() }),
        run: (x) => pair(x.datetime, { totalfee: 120.5, services: [{ id: 'svc-wash' }, { id: 'svc-inspect' }] }),
      },
      {
        name: 'express',
        prepare: (i) => ({ datetime: new Date(0), event: events.createOrder(orderBody(nextSlot(), i)) }),
        run: (x) => call(express, x.event as never, 201),
      },
    ],
    100,
    Math.round(1000 * scale),
  );

  log('warm: counting round trips per request (through a counting proxy, not timed)');
  const port = Number(new URL(uri).port);
  const proxy = await startCountingProxy(port);
  process.env.MONGODB_URI = proxy.uri;
  await useDatabase('bench_warm');
  const proxiedClient = await new MongoClient(proxy.uri).connect();
  const proxiedPair = barePair(proxiedClient.db('bench_warm'));
  const proxiedOrders = proxiedClient.db('bench_warm').collection<{ _id: string }>('orders');
  await call(getOrder as Invocable, events.getOrder(randomId()), 200); // connect outside the count
  const count = async (run: (i: number) => Promise<unknown>): Promise<number> => {
    const n = 20;
    proxy.reset();
    for (let i = 0; i < n; i++) await run(i);
    return proxy.messages() / n;
  };
  // Orders to move, created before the count: a move (PUT to another free slot) costs what a create does.
  const movable = Array.from({ length: 20 }, (_, i) => `rt-move-${process.pid}-${i}`);
  for (const [i, id] of movable.entries()) {
    await call(createOrder as Invocable, events.createOrder({ ...(orderBody(nextSlot(), i) as object), id }), 201);
  }
  const roundTrips = {
    'GET by id: handler': await count(() => call(getOrder as Invocable, events.getOrder(randomId()), 200)),
    'GET by id: driver findOne': await count(() => proxiedOrders.findOne({ _id: randomId() })),
    'create: handler': await count((i) =>
      call(createOrder as Invocable, events.createOrder(orderBody(nextSlot(), i)), 201),
    ),
    'create: handler + Idempotency-Key': await count((i) =>
      call(
        createOrder as Invocable,
        events.createOrder(orderBody(nextSlot(), i), { 'idempotency-key': `rt-${process.pid}-${i}` }),
        201,
      ),
    ),
    'create: driver findOne + insertOne': await count(() =>
      proxiedPair(nextSlot(), { totalfee: 1, services: [{ id: 'svc-wash' }] }),
    ),
    'move: handler': await count((i) =>
      call(updateOrder as Invocable, events.updateOrder(movable[i] as string, orderBody(nextSlot(), i)), 200),
    ),
    'list: handler': await count(() => call(listOrders as Invocable, events.listOrders(listQuery()), 200)),
  };
  await proxiedClient.close();
  process.env.MONGODB_URI = uri;
  await useDatabase('bench_warm');
  await proxy.close();

  return { get: summaries(get), list: summaries(list), create: summaries(create), roundTrips };
}

async function measureAt(db: Db, existing: number, used: Set<number>, random: () => number, iterations: number) {
  const pickSlot = () => {
    for (let attempt = 0; attempt < 100_000; attempt++) {
      const k = Math.floor(random() * existing);
      if (!used.has(k)) {
        used.add(k);
        return k;
      }
    }
    throw new Error(`no free slot left among ${existing} orders: lower BENCH_SCALE`);
  };
  const pair = barePair(db);
  const listQuery = () => ({
    from: new Date(SEED_BASE + Math.floor(random() * existing) * SEED_SPACING).toISOString(),
    limit: '20',
  });
  const samples = await interleaved<{ datetime?: Date; event?: ReturnType<typeof events.createOrder> }>(
    [
      {
        name: 'create: handler',
        prepare: (i) => ({ event: events.createOrder(orderBody(slotAfter(pickSlot()), i)) }),
        run: (x) => call(createOrder as Invocable, x.event as never, 201),
      },
      {
        name: 'create: driver pair',
        prepare: () => ({ datetime: slotAfter(pickSlot()) }),
        run: (x) => pair(x.datetime as Date, { totalfee: 1, services: [{ id: 'svc-wash' }] }),
      },
      {
        name: 'list: handler',
        prepare: () => ({ event: events.listOrders(listQuery()) }),
        run: (x) => call(listOrders as Invocable, x.event as never, 200),
      },
    ],
    100,
    iterations,
  );
  return summaries(samples);
}

async function scaleSection(client: MongoClient) {
  await useDatabase('bench_scale');
  const db = client.db('bench_scale');
  await db.dropDatabase();
  await seedServices(db);
  await call(listOrders as Invocable, events.listOrders({}), 200); // creates the indexes
  // Two creates per iteration, one free slot per existing order: at most 900 of the 1,000 slots.
  const iterations = Math.min(350, Math.round(300 * scale));
  const used = new Set<number>();
  const random = seededRandom(7);
  log('scale: 1,000 existing orders');
  await seedOrders(db, 0, 1000);
  const small = await measureAt(db, 1000, used, random, iterations);
  log('scale: loading 99,000 more orders (insertMany)');
  let startedAt = performance.now();
  await seedOrders(db, 1000, 100_000);
  const loadMs = performance.now() - startedAt;
  const orders = db.collection<{ _id: string; datetime: Date }>('orders');
  const countLarge = await orders.countDocuments();
  log(`scale: ${countLarge} existing orders`);
  const large = await measureAt(db, 100_000, used, random, iterations);
  log('scale: back to the same 1,000 orders (deleteMany), to check for drift');
  startedAt = performance.now();
  await orders.deleteMany({ datetime: { $gte: new Date(SEED_BASE + 1000 * SEED_SPACING) } });
  await orders.deleteMany({ _id: { $not: /^seed-/ } });
  await db.collection('order_window_locks').deleteMany({});
  const deleteMs = performance.now() - startedAt;
  const countSmallAgain = await orders.countDocuments();
  used.clear();
  const smallAgain = await measureAt(db, 1000, used, random, iterations);
  const indexes = (await orders.indexes()).map((index) => index.name);
  return { small, large, smallAgain, countLarge, countSmallAgain, loadMs, deleteMs, indexes };
}

const client = await new MongoClient(uri, { maxPoolSize: 5 }).connect();
try {
  const warmResults = await warm(client);
  const scaleResults = await scaleSection(client);
  writeFileSync(resultsPath, JSON.stringify({ warm: warmResults, scale: scaleResults }, null, 2));
} finally {
  await client.close();
  await closeConnection();
}
process.exit(0);
