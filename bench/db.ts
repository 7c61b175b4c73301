/**
 * Benchmark of the embedded MongoDB server (dev/mongo) through the official driver:
 * startup time, insert throughput, find-by-_id throughput and indexed range query latency at
 * 1,000 vs 100,000 documents. Prints a report and writes bench/results/db.{md,json}.
 * Run: `tsx bench/db.ts`. Medians over repeated runs; no assertions.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient, ObjectId } from 'mongodb';
import { startEmbeddedMongo } from '../dev/mongo/index.ts';

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
