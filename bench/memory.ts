/**
 * Memory of the embedded MongoDB after a load, and whether it comes back down (issue 21): starts
 * the server in this process with a journal (as `npm start` does), runs N transactions through the
 * official driver (each: a range `findOne`, an upserted per-customer lock document, an insert of an
 * order-like document of ~1 KB; every 4th also updates and every 8th deletes an earlier order, like
 * the API's create path), then samples memory right after the load, after a pause, after forced
 * full GCs, and after a "last-resort" GC (what V8 runs under memory pressure). Prints a Markdown
 * report; no assertions.
 *
 * Columns: RSS split into anonymous and file-backed pages (/proc/self/status; file-backed is mostly
 * the node binary); "V8 pages" = resident 256 KiB anonymous mappings (V8's heap pages on Linux,
 * /proc/self/smaps) next to V8's own total_physical_size: the difference is freed pages that V8
 * keeps mapped in its pool for reuse; "[heap]" = glibc's main malloc arena; then
 * process.memoryUsage(). Run with --expose-gc for the GC rows:
 *
 *   npx -y -p node@24 -c 'node --expose-gc --import tsx bench/memory.ts [--n 20000] [--clients 8] [--pause 5000] [--no-journal]'
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { MongoClient } from 'mongodb';
import { startEmbeddedMongo } from '../dev/mongo/index.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '20000' },
    clients: { type: 'string', default: '8' },
    pause: { type: 'string', default: '5000' },
    'no-journal': { type: 'boolean', default: false },
  },
});
const N = Number(values.n);
const CLIENTS = Number(values.clients);
const PAUSE_MS = Number(values.pause);
const MiB = 1024 * 1024;
const V8_PAGE_BYTES = 256 * 1024;

interface Sample {
  label: string;
  rss: number;
  rssAnon: number;
  rssFile: number;
  /** Resident bytes of 256 KiB anonymous read-write mappings (V8 heap pages). */
  v8Pages: number;
  /** What V8 counts as committed and resident in its heap spaces. */
  v8Physical: number;
  /** glibc's main arena ([heap]). */
  mallocHeap: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

function statusField(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/** Resident bytes of V8's 256 KiB page mappings and of the [heap] mapping, from /proc/self/smaps. */
function mappings(): { v8Pages: number; mallocHeap: number } {
  let v8Pages = 0;
  let mallocHeap = 0;
  let current: 'v8' | 'heap' | undefined;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\S+)\s*(.*)$/.exec(line);
    if (head) {
      const size = Number.parseInt(head[2] as string, 16) - Number.parseInt(head[1] as string, 16);
      const name = (head[5] as string).trim();
      current = name === '[heap]' ? 'heap' : !name && head[3] === 'rw-p' && size === V8_PAGE_BYTES ? 'v8' : undefined;
    } else if (current && line.startsWith('Rss:')) {
      const bytes = Number(line.split(/\s+/)[1]) * 1024;
      if (current === 'v8') v8Pages += bytes;
      else mallocHeap += bytes;
    }
  }
  return { v8Pages, mallocHeap };
}

function sample(label: string): Sample {
  const m = process.memoryUsage();
  return {
    label,
    rss: m.rss,
    rssAnon: statusField('RssAnon'),
    rssFile: statusField('RssFile'),
    ...mappings(),
    v8Physical: getHeapStatistics().total_physical_size,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
  };
}

type Gc = (options?: { type: 'major'; execution: 'sync'; flavor: 'regular' | 'last-resort' }) => void;
const gc = (globalThis as { gc?: Gc }).gc;
function fullGc(): void {
  for (let i = 0; i < 3; i++) gc?.();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function orderDoc(i: number): Record<string, unknown> {
  return {
    customerId: `c${i % 500}`,
    at: new Date(Date.UTC(2026, 0, 1) + i * 60_000),
    status: 'placed',
    items: Array.from({ length: 5 }, (_, k) => ({ sku: `sku-${(i + k) % 997}`, qty: 1 + (k % 3), price: 9.99 + k })),
    note: 'n'.repeat(600),
  };
}

async function load(client: MongoClient): Promise<void> {
  const db = client.db('memory');
  const orders = db.collection<{ _id: number }>('orders');
  const locks = db.collection<{ _id: string; n: number }>('locks');
  let next = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      for (let i = next++; i < N; i = next++) {
        const session = client.startSession();
        try {
          await session.withTransaction(async () => {
            const doc = orderDoc(i);
            await orders.findOne({ customerId: doc.customerId, at: { $gte: doc.at } }, { session });
            await locks.updateOne({ _id: doc.customerId as string }, { $inc: { n: 1 } }, { session, upsert: true });
            await orders.insertOne({ _id: i, ...doc }, { session });
            if (i % 4 === 3) await orders.updateOne({ _id: i - 2 }, { $set: { status: 'paid' } }, { session });
            if (i % 8 === 7) await orders.deleteOne({ _id: i - 5 }, { session });
          });
        } finally {
          await session.endSession();
        }
      }
    }),
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-memory-'));
  const journal = !values['no-journal'];
  const samples: Sample[] = [sample('before start')];
  const server = await startEmbeddedMongo({ port: 0, ...(journal ? { dbPath: dir } : {}), log: () => {} });
  const client = new MongoClient(server.uri, { maxPoolSize: CLIENTS });
  try {
    const db = client.db('memory');
    await db.collection('orders').createIndex({ customerId: 1, at: 1 });
    samples.push(sample('started, empty'));
    const t0 = performance.now();
    await load(client);
    const loadMs = performance.now() - t0;
    samples.push(sample(`after ${N} transactions`));
    await sleep(PAUSE_MS);
    samples.push(sample(`after a ${PAUSE_MS / 1000} s pause`));
    if (gc) {
      fullGc();
      samples.push(sample('after forced full GCs'));
      await sleep(PAUSE_MS);
      fullGc();
      samples.push(sample('after another pause and full GCs'));
      gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
      samples.push(sample('after a last-resort GC (as under memory pressure)'));
    }
    const stats = await db.command({ dbStats: 1 });
    const journalBytes = journal ? statSync(join(dir, 'journal.bson')).size : 0;
    const count = await db.collection('orders').countDocuments();

    const mib = (x: number) => (x / MiB).toFixed(1);
    const lines = [
      `# Embedded MongoDB memory after a load (node ${process.version}, ${CLIENTS} clients, ${journal ? 'journal' : 'in memory'})`,
      '',
      `${N} transactions in ${(loadMs / 1000).toFixed(1)} s; ${count} orders left; data ` +
        `${mib(Number(stats.dataSize))} MiB (dbStats.dataSize)${journal ? `, journal ${mib(journalBytes)} MiB` : ''}.` +
        (gc ? '' : ' Run with --expose-gc for the GC rows.'),
      '',
      '| moment (MiB) | RSS | anon | file | V8 pages | V8 physical | [heap] | heapUsed | heapTotal | external | arrayBuffers |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...samples
        .map((s) =>
          [
            s.label,
            ...[s.rss, s.rssAnon, s.rssFile, s.v8Pages, s.v8Physical, s.mallocHeap, s.heapUsed, s.heapTotal, s.external]
              .concat(s.arrayBuffers)
              .map(mib),
          ].join(' | '),
        )
        .map((row) => `| ${row} |`),
    ];
    console.log(lines.join('\n'));
  } finally {
    await client.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
