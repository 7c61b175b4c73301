/**
 * Benchmark of the embedded MongoDB server (dev/mongo) through the official driver:
 * startup time, insert throughput, find-by-_id throughput and indexed range query latency at
 * 1,000 vs 100,000 documents; with a journal (dbPath): insertOne throughput at 1 and 8 clients
 * with durable acknowledgement vs the old non-durable behaviour (`durable: false`), and the
 * load time of a journal with ~100 MB of live data. `--large-journal` adds a streamed load of a
 * journal past 2 GiB (slow: writes ~2.2 GB). Prints a report and writes bench/results/db.{md,json}.
 * Run: `tsx bench/db.ts [--large-journal]`. Medians over repeated runs; no assertions.
 */
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient, ObjectId } from 'mongodb';
import { startChildMongo } from '../dev/mongo/child.ts';
import { startEmbeddedMongo } from '../dev/mongo/index.ts';
import { encodeRecord, FILE_MAGIC } from '../dev/mongo/storage/journal-format.ts';

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

async function untilAccepting(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve();
    });
    s.on('error', reject);
  });
}

async function startupMs(runs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const server = await startEmbeddedMongo({ port: 0, log: () => {} });
    await untilAccepting(server.port);
    times.push(performance.now() - t0);
    await server.stop();
  }
  return times;
}

interface Doc {
  _id: ObjectId;
  datetime: Date;
  customer: string;
  total: number;
}

function makeDocs(n: number, base: number): Doc[] {
  // One document per minute, like orders spread over time.
  return Array.from({ length: n }, (_, i) => ({
    _id: new ObjectId(),
    datetime: new Date(base + i * 60_000),
    customer: `c${i % 97}`,
    total: i % 1000,
  }));
}

/** insertOne/s with `clients` driver clients writing concurrently to a server with a journal. */
async function journaledInsertRate(durable: boolean, clients: number, perClient: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-journal-'));
  const server = await startEmbeddedMongo({ port: 0, dbPath: dir, durable, log: () => {} });
  const conns = Array.from({ length: clients }, () => new MongoClient(server.uri, { maxPoolSize: 1 }));
  try {
    await Promise.all(conns.map((c) => c.db('bench').collection('warm').insertOne({})));
    const t0 = performance.now();
    await Promise.all(
      conns.map(async (c) => {
        const coll = c.db('bench').collection<Doc>('orders');
        for (const d of makeDocs(perClient, Date.UTC(2030, 0, 1))) await coll.insertOne(d);
      }),
    );
    return (clients * perClient) / ((performance.now() - t0) / 1000);
  } finally {
    await Promise.all(conns.map((c) => c.close()));
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `dev/mongo/cli.ts --dbpath dir` in a child process: time until it listens, and its RSS then. */
async function childServer(
  dir: string,
): Promise<{ ms: number; rssMB: number; uri: string; stop: () => Promise<void> }> {
  const t0 = performance.now();
  const server = await startChildMongo(['--dbpath', dir]);
  const ms = performance.now() - t0;
  const rssKB = Number(
    /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.child.pid}/status`, 'utf8'))?.[1] ?? Number.NaN,
  );
  return { ms, rssMB: round(rssKB / 1024, 0), uri: server.uri, stop: () => server.stop() };
}

/** Median start time (spawn → listening) of a child server on an empty dbpath. */
async function emptyChildStartMs(): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-journal-empty-'));
    const server = await childServer(dir);
    times.push(server.ms);
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return median(times);
}

/**
 * Fills a journal with ~`mb` MB of live documents, then starts a child server on it: load time is
 * its time to listen minus that of a child on an empty dbpath; RSS is the child's.
 */
async function journalLoad(
  mb: number,
  emptyMs: number,
): Promise<{ journalMB: number; loadMs: number; rssMB: number; docs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-journal-load-'));
  try {
    const pad = 'x'.repeat(1000);
    const docs = mb * 1000;
    const first = await startEmbeddedMongo({ port: 0, dbPath: dir, log: () => {} });
    const client = new MongoClient(first.uri);
    const coll = client.db('bench').collection<{ _id: number; pad: string; at: Date }>('load');
    for (let i = 0; i < docs; i += 1000) {
      await coll.insertMany(Array.from({ length: 1000 }, (_, k) => ({ _id: i + k, pad, at: new Date() })));
    }
    await client.close();
    await first.stop();
    const journalMB = statSync(join(dir, 'journal.bson')).size / 1e6;
    const second = await childServer(dir);
    await second.stop();
    return { journalMB: round(journalMB, 1), loadMs: round(second.ms - emptyMs, 0), rssMB: second.rssMB, docs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes a journal past 2 GiB (2,100 replacements of one 1 MiB document) and times its load in a child. */
async function largeJournalLoad(
  emptyMs: number,
): Promise<{ journalGiB: number; loadMs: number; rssMB: number; loaded: boolean }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-journal-large-'));
  try {
    const path = join(dir, 'journal.bson');
    const fd = openSync(path, 'w');
    const pad = 'y'.repeat(1024 * 1024);
    writeSync(fd, FILE_MAGIC);
    writeSync(fd, encodeRecord({ ops: [{ op: 'createCollection', db: 'big', name: 'c', options: {}, s: 1 }] }));
    for (let i = 1; i <= 2100; i++) {
      writeSync(fd, encodeRecord({ ops: [{ op: 'put', db: 'big', name: 'c', doc: { _id: 1, n: i, pad }, s: i + 1 }] }));
    }
    closeSync(fd);
    const size = statSync(path).size;
    const server = await childServer(dir);
    const client = new MongoClient(server.uri);
    const doc = await client
      .db('big')
      .collection<{ _id: number; n: number }>('c')
      .findOne({ _id: 1 }, { projection: { n: 1 } });
    await client.close();
    await server.stop();
    return {
      journalGiB: round(size / 2 ** 30, 2),
      loadMs: round(server.ms - emptyMs, 0),
      rssMB: server.rssMB,
      loaded: doc?.n === 2100,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const server = await startEmbeddedMongo({ port: 0, log: () => {} });
  const client = new MongoClient(server.uri);
  await client.connect();
  const db = client.db('bench');
  const results: Record<string, unknown> = {};
  try {
    const startups = await startupMs(9);
    results.startupMs = { median: round(median(startups)), runs: startups.map((x) => round(x)) };

    // insertOne throughput
    const insertOneRates: number[] = [];
    for (let run = 0; run < 3; run++) {
      const coll = db.collection<Doc>(`insertOne_${run}`);
      const docs = makeDocs(2000, Date.UTC(2030, 0, 1));
      const t0 = performance.now();
      for (const d of docs) await coll.insertOne(d);
      insertOneRates.push(docs.length / ((performance.now() - t0) / 1000));
    }
    results.insertOnePerSec = { median: Math.round(median(insertOneRates)), runs: insertOneRates.map(Math.round) };

    // insertMany throughput
    const insertManyRates: number[] = [];
    for (let run = 0; run < 3; run++) {
      const coll = db.collection<Doc>(`insertMany_${run}`);
      const docs = makeDocs(20_000, Date.UTC(2030, 0, 1));
      const t0 = performance.now();
      for (let i = 0; i < docs.length; i += 1000) await coll.insertMany(docs.slice(i, i + 1000));
      insertManyRates.push(docs.length / ((performance.now() - t0) / 1000));
    }
    results.insertManyDocsPerSec = {
      median: Math.round(median(insertManyRates)),
      runs: insertManyRates.map(Math.round),
      batch: 1000,
    };

    // find by _id
    const byIdColl = db.collection<Doc>('insertMany_0');
    const ids = (await byIdColl.find({}, { projection: { _id: 1 } }).toArray()).map((d) => d._id);
    const findRates: number[] = [];
    for (let run = 0; run < 3; run++) {
      const t0 = performance.now();
      for (let i = 0; i < 3000; i++) await byIdColl.findOne({ _id: ids[(i * 7919) % ids.length] as ObjectId });
      findRates.push(3000 / ((performance.now() - t0) / 1000));
    }
    results.findByIdPerSec = { median: Math.round(median(findRates)), runs: findRates.map(Math.round) };

    // Indexed range queries at two sizes.
    const range: Record<string, { findOneMedianMs: number; pageMedianMs: number }> = {};
    for (const size of [1_000, 100_000]) {
      const coll = db.collection<Doc>(`range_${size}`);
      await coll.createIndex({ datetime: 1 });
      await coll.createIndex({ datetime: 1, _id: 1 });
      const base = Date.UTC(2030, 0, 1);
      const docs = makeDocs(size, base);
      for (let i = 0; i < docs.length; i += 10_000) await coll.insertMany(docs.slice(i, i + 10_000));
      const findOneTimes: number[] = [];
      const pageTimes: number[] = [];
      for (let i = 0; i < 600; i++) {
        const pick = docs[(i * 7919) % size] as Doc;
        const a = new Date(pick.datetime.getTime() - 30 * 60_000);
        const b = new Date(pick.datetime.getTime() + 30 * 60_000);
        let t0 = performance.now();
        await coll.findOne({ datetime: { $gt: a, $lt: b }, _id: { $ne: pick._id } });
        if (i >= 100) findOneTimes.push(performance.now() - t0); // first 100 are warm-up
        t0 = performance.now();
        await coll
          .find({ datetime: { $gte: a } })
          .sort({ datetime: 1, _id: 1 })
          .limit(20)
          .toArray();
        if (i >= 100) pageTimes.push(performance.now() - t0);
      }
      range[String(size)] = { findOneMedianMs: round(median(findOneTimes)), pageMedianMs: round(median(pageTimes)) };
    }
    results.indexedRange = range;
    const small = range['1000'] as { findOneMedianMs: number; pageMedianMs: number };
    const large = range['100000'] as { findOneMedianMs: number; pageMedianMs: number };
    results.rangeRatio100kTo1k = {
      findOne: round(large.findOneMedianMs / small.findOneMedianMs, 2),
      page: round(large.pageMedianMs / small.pageMedianMs, 2),
    };
  } finally {
    await client.close();
    await server.stop();
  }

  // Journaled writes: durable acknowledgement (group commit) vs the old behaviour, interleaved.
  const journaled: Record<string, { durable: number[]; old: number[] }> = {
    '1': { durable: [], old: [] },
    '8': { durable: [], old: [] },
  };
  for (let run = 0; run < 3; run++) {
    for (const clients of [1, 8]) {
      const perClient = clients === 1 ? 2000 : 400;
      (journaled[String(clients)] as { durable: number[] }).durable.push(
        await journaledInsertRate(true, clients, perClient),
      );
      (journaled[String(clients)] as { old: number[] }).old.push(await journaledInsertRate(false, clients, perClient));
    }
  }
  results.journaledInsertOnePerSec = Object.fromEntries(
    Object.entries(journaled).map(([clients, r]) => [
      clients,
      {
        durable: Math.round(median(r.durable)),
        old: Math.round(median(r.old)),
        ratio: round(median(r.durable) / median(r.old), 2),
        durableRuns: r.durable.map(Math.round),
        oldRuns: r.old.map(Math.round),
      },
    ]),
  );
  const emptyMs = await emptyChildStartMs();
  results.childStartEmptyMs = round(emptyMs, 0);
  results.journalLoad = await journalLoad(100, emptyMs);
  if (process.argv.includes('--large-journal')) results.largeJournalLoad = await largeJournalLoad(emptyMs);

  const md = [
    '# Embedded MongoDB benchmark',
    '',
    `Node ${process.version}, ${new Date().toISOString()}. All figures are medians; see db.json for every run.`,
    '',
    '| measure | value |',
    '| --- | --- |',
    `| startup until accepting connections | ${(results.startupMs as { median: number }).median} ms |`,
    `| insertOne (sequential) | ${(results.insertOnePerSec as { median: number }).median} ops/s |`,
    `| insertMany (batches of 1000) | ${(results.insertManyDocsPerSec as { median: number }).median} docs/s |`,
    `| findOne by _id (sequential) | ${(results.findByIdPerSec as { median: number }).median} ops/s |`,
    ...Object.entries(
      results.indexedRange as Record<string, { findOneMedianMs: number; pageMedianMs: number }>,
    ).flatMap(([n, r]) => [
      `| range findOne, ${n} docs | ${r.findOneMedianMs} ms |`,
      `| range page of 20 sorted by {datetime,_id}, ${n} docs | ${r.pageMedianMs} ms |`,
    ]),
    `| ratio 100k / 1k (findOne, page) | ${(results.rangeRatio100kTo1k as { findOne: number }).findOne}, ${(results.rangeRatio100kTo1k as { page: number }).page} |`,
    '',
    '## With a journal (dbPath)',
    '',
    'insertOne/s, each client a separate driver client writing sequentially; "durable" = reply after the',
    'record is written and fdatasync\'ed (group commit), "old" = `durable: false` (no fsync, reply at once).',
    '',
    '| clients | durable | old | durable / old |',
    '| --- | --- | --- | --- |',
    ...Object.entries(
      results.journaledInsertOnePerSec as Record<string, { durable: number; old: number; ratio: number }>,
    ).map(([clients, r]) => `| ${clients} | ${r.durable} ops/s | ${r.old} ops/s | ${r.ratio} |`),
    '',
    (() => {
      const l = results.journalLoad as { journalMB: number; loadMs: number; rssMB: number; docs: number };
      return `Load at start of a ${l.journalMB} MB journal (${l.docs} documents of ~1 KB), in a child \`dev/mongo/cli.ts\` process: ${l.loadMs} ms more than on an empty dbpath (${results.childStartEmptyMs} ms, mostly tsx); RSS once listening ${l.rssMB} MB.`;
    })(),
    ...(results.largeJournalLoad
      ? [
          '',
          (() => {
            const l = results.largeJournalLoad as {
              journalGiB: number;
              loadMs: number;
              rssMB: number;
              loaded: boolean;
            };
            return `Streamed load of a ${l.journalGiB} GiB journal (2,100 versions of one 1 MiB document), same way: ${l.loadMs} ms, RSS ${l.rssMB} MB, ${l.loaded ? 'latest version loaded' : 'WRONG RESULT'}.`;
          })(),
        ]
      : ['', 'Large-journal load (> 2 GiB): not run (`npm run bench:db -- --large-journal`).']),
    '',
  ].join('\n');
  const outDir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'db.md'), md);
  writeFileSync(
    join(outDir, 'db.json'),
    `${JSON.stringify({ node: process.version, date: new Date().toISOString(), ...results }, null, 2)}\n`,
  );
  console.log(md);
}

await main();
