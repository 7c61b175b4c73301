/**
 * Memory: RSS after 1,000 and after 10,000 warm invocations, in a process of its own:
 * `node --expose-gc --import tsx bench/phases/memoryChild.ts <results.json>`, MONGODB_URI and
 * MONGODB_DATABASE set. Invocations cycle GET by id, GET list and create. Full garbage
 * collections run before each reading, so what remains is what the process keeps.
 * BENCH_MEMORY_TARGET=express measures the Express lambdalith the same way.
 */
import { writeFileSync } from 'node:fs';
import { MongoClient } from 'mongodb';
import { handler as createOrder } from '../../functions/orders/create.ts';
import { handler as getOrder } from '../../functions/orders/get.ts';
import { handler as listOrders } from '../../functions/orders/list.ts';
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
} from '../lib/requests.ts';
import { seededRandom } from '../lib/stats.ts';

const resultsPath = process.argv[2] as string;
const target = process.env.BENCH_MEMORY_TARGET === 'express' ? 'express' : 'functions';
const checkpoints = (process.env.BENCH_MEMORY_CHECKPOINTS ?? '1000,10000').split(',').map(Number);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const client = await new MongoClient(process.env.MONGODB_URI as string).connect();
const db = client.db(process.env.MONGODB_DATABASE as string);
await db.dropDatabase();
await seedServices(db);
await seedOrders(db, 0, 1000);
await client.close();

let get = getOrder as Invocable;
let list = listOrders as Invocable;
let create = createOrder as Invocable;
if (target === 'express') {
  const { handler } = await import('../baseline/expressApp.ts');
  get = handler as unknown as Invocable;
  list = get;
  create = get;
}

const random = seededRandom(1);
let slot = 0;
async function invoke(i: number): Promise<void> {
  switch (i % 3) {
    case 0:
      return call(get, events.getOrder(seedOrderId(Math.floor(random() * 1000))), 200);
    case 1: {
      const from = new Date(SEED_BASE + Math.floor(random() * 1000) * SEED_SPACING).toISOString();
      return call(list, events.listOrders({ from, limit: '20' }), 200);
    }
    default:
      return call(
        create,
        events.createOrder(orderBody(new Date(SEED_BASE + 2000 * SEED_SPACING + slot++ * 4 * HOUR), i)),
        201,
      );
  }
}

async function settle(): Promise<{ rssBytes: number; heapUsedBytes: number; externalBytes: number }> {
  for (let i = 0; i < 3; i++) {
    (gc as () => void)();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const usage = process.memoryUsage();
  return { rssBytes: usage.rss, heapUsedBytes: usage.heapUsed, externalBytes: usage.external };
}

// Warm-up: connection, indexes, JIT; not counted.
for (let i = 0; i < 300; i++) await invoke(i);
const readings: Record<string, { rssBytes: number; heapUsedBytes: number; externalBytes: number }> = {};
let done = 0;
for (const checkpoint of checkpoints) {
  for (; done < checkpoint; done++) await invoke(done);
  readings[String(checkpoint)] = await settle();
}
writeFileSync(resultsPath, JSON.stringify({ target, readings }));
process.exit(0);
