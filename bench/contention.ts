/**
 * `npm run bench:contention`: order creation under contention, measured the way production runs
 * it, and the connection budget. See bench/README.md ("Contention and connection budget").
 *
 * K separate Node processes (bench/phases/containerChild.mjs), each importing the packaged
 * createOrder bundle once with its own MongoDB client, like Lambda containers, driven by this
 * process with one invocation in flight per container. The embedded MongoDB runs in a process
 * of its own (dev/mongo/cli.ts). Every order sits in its own window; phase A books a different
 * service per order, phase B one service for all; the phases alternate over several rounds, for
 * the packaged bundle (striped guard) and for a what-if bundle with one guard per service
 * (the single-document hot spot the striping removed). Then the connection budget: more
 * containers than a server with --maxConns admits.
 *
 * Knobs: CONTENTION_CONTAINERS (20), CONTENTION_PER_PHASE (100), CONTENTION_ROUNDS (4),
 * CONTENTION_SECTIONS (contention,connections), BUDGET_CONTAINERS (40), BUDGET_MAX_CONNS (60),
 * BUDGET_REQUESTS (120).
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { startChildMongo } from '#dev/mongo/child';
import { windowMs } from '#lib/domain/orderWindow';
import {
  buildWhatIf,
  esbuildOptionsFromServerless,
  extractFunctionBundles,
  functionEntries,
  readServerlessYml,
  repoRoot,
  serverlessPackage,
} from './lib/build.ts';
import { events } from './lib/requests.ts';
import { startCountingProxy } from './lib/roundTrips.ts';
import { machine, median, percentile, round } from './lib/stats.ts';
import { singleServiceGuard } from './lib/whatIfs.ts';

const containers = Number(process.env.CONTENTION_CONTAINERS ?? 20);
const perPhase = Number(process.env.CONTENTION_PER_PHASE ?? 100);
const rounds = Number(process.env.CONTENTION_ROUNDS ?? 4);
const sections = new Set((process.env.CONTENTION_SECTIONS ?? 'contention,connections').split(','));
const budgetContainers = Number(process.env.BUDGET_CONTAINERS ?? 40);
const budgetMaxConns = Number(process.env.BUDGET_MAX_CONNS ?? 60);
const budgetRequests = Number(process.env.BUDGET_REQUESTS ?? 120);
const budgetPoolSize = 1;

const startedAt = performance.now();
const log = (line: string) =>
  console.error(`[contention ${((performance.now() - startedAt) / 1000).toFixed(0).padStart(3)}s] ${line}`);
const workDir = mkdtempSync(join(tmpdir(), 'order-contention-'));
const WINDOW = windowMs(180);
// Aligned to a bucket; order n sits in bucket 2n (mid-bucket), so no two orders share a window lock.
const BASE = Math.floor(Date.UTC(2060, 0, 1) / WINDOW) * WINDOW;
let nextSlot = 0;
const HOT_SERVICE = 'svc-hot';
const serviceOf = (i: number) => `svc-${i}`;

function orderEvent(serviceId: string) {
  const datetime = new Date(BASE + nextSlot++ * 2 * WINDOW + WINDOW / 2);
  return events.createOrder({ datetime: datetime.toISOString(), totalfee: 10, services: [{ id: serviceId }] });
}

/** The embedded MongoDB in a process of its own; resolves with its URI. */
async function startDatabase(extraArgs: string[] = []): Promise<{ uri: string; port: number; stop: () => void }> {
  const server = await startChildMongo(extraArgs);
  return { uri: server.uri, port: server.port, stop: () => void server.stop() };
}

interface Reply {
  seq: number;
  status: number;
  ms: number;
  type?: string;
}

/** One simulated container: a forked process holding the bundles, one invocation at a time. */
class Container {
  private readonly child: ChildProcess;
  private seq = 0;
  private readonly waiting = new Map<number, (reply: Reply) => void>();
  private loaded: Promise<void>;

  constructor(env: NodeJS.ProcessEnv, bundles: Record<string, string>) {
    this.child = fork(join(import.meta.dirname, 'phases', 'containerChild.mjs'), [], {
      env,
      execArgv: [],
      // stdout carries the request logs (one JSON line per request, as in Lambda): discarded.
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    this.loaded = new Promise((resolve) => {
      const onLoaded = (message: { loaded?: boolean }) => {
        if (message.loaded) {
          this.child.off('message', onLoaded);
          resolve();
        }
      };
      this.child.on('message', onLoaded);
    });
    this.child.on('message', (message: Reply & { loaded?: boolean }) => {
      if (message.loaded) return;
      this.waiting.get(message.seq)?.(message);
      this.waiting.delete(message.seq);
    });
    this.child.send({ load: bundles });
  }

  ready(): Promise<void> {
    return this.loaded;
  }

  invoke(bundle: string, event: unknown): Promise<Reply> {
    const seq = ++this.seq;
    return new Promise((resolve) => {
      this.waiting.set(seq, resolve);
      this.child.send({ seq, bundle, event });
    });
  }

  stop(): void {
    this.child.kill();
  }
}

function containerEnv(uri: string, database: string, poolSize?: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    TZ: 'UTC',
    AWS_REGION: 'eu-west-1',
    AWS_LAMBDA_FUNCTION_NAME: 'createOrder',
    MONGODB_URI: uri,
    MONGODB_DATABASE: database,
    ORDER_WINDOW_MINUTES: '180',
    AUTH_MODE: 'gateway',
    POWERTOOLS_SERVICE_NAME: 'order-management-api',
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'INFO',
    ...(poolSize !== undefined && { MONGODB_MAX_POOL_SIZE: String(poolSize) }),
  };
}

interface PhaseResult {
  statuses: Record<string, number>;
  failureTypes: Record<string, number>;
  ms: number[];
  replies: Reply[];
  wallMs: number;
}

/** Sends `eventsToSend` through the containers, one in flight per container; returns every reply. */
async function drive(pool: Container[], bundle: string, eventsToSend: unknown[]): Promise<PhaseResult> {
  const queue = [...eventsToSend];
  const result: PhaseResult = { statuses: {}, failureTypes: {}, ms: [], replies: [], wallMs: 0 };
  const started = performance.now();
  await Promise.all(
    pool.map(async (container) => {
      for (let event = queue.shift(); event !== undefined; event = queue.shift()) {
        const reply = await container.invoke(bundle, event);
        result.statuses[reply.status] = (result.statuses[reply.status] ?? 0) + 1;
        if (reply.status !== 201) {
          const key = `${reply.status} ${reply.type ?? ''}`.trim();
          result.failureTypes[key] = (result.failureTypes[key] ?? 0) + 1;
        }
        result.ms.push(reply.ms);
        result.replies.push(reply);
      }
    }),
  );
  result.wallMs = performance.now() - started;
  return result;
}

function merge(results: PhaseResult[]): PhaseResult {
  const merged: PhaseResult = { statuses: {}, failureTypes: {}, ms: [], replies: [], wallMs: 0 };
  for (const r of results) {
    for (const [k, v] of Object.entries(r.statuses)) merged.statuses[k] = (merged.statuses[k] ?? 0) + v;
    for (const [k, v] of Object.entries(r.failureTypes)) merged.failureTypes[k] = (merged.failureTypes[k] ?? 0) + v;
    merged.ms.push(...r.ms);
    merged.replies.push(...r.replies);
    merged.wallMs += r.wallMs;
  }
  return merged;
}

function summary(r: PhaseResult) {
  return {
    n: r.ms.length,
    statuses: r.statuses,
    failureTypes: r.failureTypes,
    p50Ms: round(median(r.ms), 1),
    p99Ms: round(percentile(r.ms, 99), 1),
    maxMs: round(Math.max(...r.ms), 1),
    wallMs: round(r.wallMs, 0),
  };
}

const VARIANTS = {
  striped: 'packaged createOrder (striped guard, 64 stripes)',
  single: 'what-if: one guard per service (the hot spot before striping)',
} as const;
type Variant = keyof typeof VARIANTS;

async function contention(bundles: Record<Variant, string>) {
  const db = await startDatabase();
  const database = 'bench_contention';
  const seeder = await new MongoClient(db.uri).connect();
  try {
    const now = new Date();
    const ids = [HOT_SERVICE, ...Array.from({ length: perPhase }, (_, i) => serviceOf(i))];
    await seeder
      .db(database)
      .collection<{ _id: string }>('services')
      .insertMany(ids.map((id) => ({ _id: id, name: id, createdAt: now, updatedAt: now, version: 1 })));

    log('messages per create through a counting proxy (one container, sequential, not timed)');
    const proxy = await startCountingProxy(db.port);
    const counted = new Container(containerEnv(proxy.uri, database), bundles);
    await counted.ready();
    const messages: Record<string, number> = {};
    for (const variant of Object.keys(VARIANTS) as Variant[]) {
      await counted.invoke(variant, orderEvent(serviceOf(0))); // connects outside the count
      proxy.reset();
      for (let i = 0; i < 20; i++) await counted.invoke(variant, orderEvent(serviceOf(i)));
      messages[variant] = proxy.messages() / 20;
    }
    counted.stop();
    await proxy.close();

    log(`starting ${containers} containers, each importing both bundles once`);
    const pool = Array.from({ length: containers }, () => new Container(containerEnv(db.uri, database), bundles));
    await Promise.all(pool.map((c) => c.ready()));
    // Cold starts (first connection, index creation) outside the measurement.
    for (const variant of Object.keys(VARIANTS) as Variant[]) {
      await drive(
        pool,
        variant,
        pool.map((_, i) => orderEvent(serviceOf(i))),
      );
    }
    const phases = (Object.keys(VARIANTS) as Variant[]).flatMap((variant) =>
      (['A', 'B'] as const).map((kind) => ({ variant, kind })),
    );
    const raw: Record<string, PhaseResult[]> = {};
    const loadBefore = loadavg()[0] ?? 0;
    for (let r = 0; r < rounds; r++) {
      // Interleaved, starting at a different phase each round, so slow drifts hit all alike.
      for (let k = 0; k < phases.length; k++) {
        const { variant, kind } = phases[(k + r) % phases.length] as (typeof phases)[number];
        const toSend = Array.from({ length: perPhase }, (_, i) =>
          orderEvent(kind === 'A' ? serviceOf(i) : HOT_SERVICE),
        );
        const result = await drive(pool, variant, toSend);
        const key = `${variant} ${kind}`;
        raw[key] = [...(raw[key] ?? []), result];
        log(
          `round ${r + 1}/${rounds} ${variant} ${kind}: p99 ${round(percentile(result.ms, 99), 1)} ms, wall ${round(result.wallMs, 0)} ms, ${JSON.stringify(result.statuses)}`,
        );
      }
    }
    const loadAverage = { before: round(loadBefore, 2), after: round(loadavg()[0] ?? 0, 2) };
    for (const c of pool) c.stop();

    const variants = Object.fromEntries(
      (Object.keys(VARIANTS) as Variant[]).map((variant) => {
        const a = raw[`${variant} A`] ?? [];
        const b = raw[`${variant} B`] ?? [];
        const A = summary(merge(a));
        const B = summary(merge(b));
        const perRoundP99Ratio = a.map((ra, i) =>
          round(percentile((b[i] as PhaseResult).ms, 99) / percentile(ra.ms, 99), 2),
        );
        return [
          variant,
          {
            label: VARIANTS[variant],
            messagesPerCreate: messages[variant],
            A,
            B,
            ratios: {
              p50: round(B.p50Ms / A.p50Ms, 2),
              p99: round(B.p99Ms / A.p99Ms, 2),
              wall: round(B.wallMs / A.wallMs, 2),
              p99PerRound: perRoundP99Ratio,
            },
          },
        ];
      }),
    );
    return { loadAverage, variants };
  } finally {
    await seeder.close();
    db.stop();
  }
}

async function connectionBudget(bundle: string) {
  const db = await startDatabase(['--maxConns', String(budgetMaxConns)]);
  const database = 'bench_connections';
  const seeder = await new MongoClient(db.uri, { maxPoolSize: 1 }).connect();
  try {
    const now = new Date();
    await seeder
      .db(database)
      .collection<{ _id: string; name: string; createdAt: Date; updatedAt: Date; version: number }>('services')
      .insertOne({ _id: HOT_SERVICE, name: HOT_SERVICE, createdAt: now, updatedAt: now, version: 1 });
  } finally {
    await seeder.close();
  }
  try {
    log(
      `connection budget: ${budgetContainers} containers (pool ${budgetPoolSize} + 1 monitor each) against --maxConns ${budgetMaxConns}`,
    );
    const pool = Array.from(
      { length: budgetContainers },
      () => new Container(containerEnv(db.uri, database, budgetPoolSize), { striped: bundle }),
    );
    await Promise.all(pool.map((c) => c.ready()));
    const result = await drive(
      pool,
      'striped',
      Array.from({ length: budgetRequests }, () => orderEvent(HOT_SERVICE)),
    );
    for (const c of pool) c.stop();
    const byStatus = (status: number) => result.replies.filter((r) => r.status === status).map((r) => r.ms);
    const latency = (xs: number[]) =>
      xs.length === 0 ? null : { n: xs.length, p50Ms: round(median(xs), 0), p99Ms: round(percentile(xs, 99), 0) };
    return {
      containers: budgetContainers,
      poolSize: budgetPoolSize,
      maxIncomingConnections: budgetMaxConns,
      needed: budgetContainers * (budgetPoolSize + 1),
      requests: budgetRequests,
      statuses: result.statuses,
      failureTypes: result.failureTypes,
      created: latency(byStatus(201)),
      unavailable: latency(byStatus(503)),
      wallMs: round(result.wallMs, 0),
    };
  } finally {
    db.stop();
  }
}

function renderMarkdown(report: Record<string, unknown>): string {
  const lines: string[] = ['# Contention and connection budget', ''];
  const m = report.machine as ReturnType<typeof machine>;
  lines.push(
    `${report.date}, ${m.cpu}, ${m.cores} cores, Node ${m.node}, commit ${report.git}. ${report.durationSeconds} s in all.`,
    '',
  );
  const c = report.contention as Awaited<ReturnType<typeof contention>> | undefined;
  if (c) {
    const s = report.settings as Record<string, number>;
    lines.push(
      '## Order creation: one service for all (B) against a different service each (A)',
      '',
      `${s.containers} container processes, each importing the createOrder bundle once with its own client; one invocation in flight per container; ${s.perPhase} creates per phase, phases interleaved over ${s.rounds} rounds; every order in its own window (6 h apart). Latency is the handler's duration in the container. Load average ${c.loadAverage.before} before, ${c.loadAverage.after} after.`,
      '',
      '| bundle | phase | creates | statuses | p50 ms | p99 ms | max ms | wall ms | messages per create |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const v of Object.values(c.variants)) {
      for (const kind of ['A', 'B'] as const) {
        const p = v[kind];
        lines.push(
          `| ${v.label} | ${kind} | ${p.n} | ${Object.entries(p.statuses)
            .map(([k, n]) => `${n}× ${k}`)
            .join(', ')} | ${p.p50Ms} | ${p.p99Ms} | ${p.maxMs} | ${p.wallMs} | ${v.messagesPerCreate} |`,
        );
      }
    }
    lines.push('', '| bundle | B/A p50 | B/A p99 | B/A wall | B/A p99 per round | failures in B | target |');
    lines.push('| --- | --- | --- | --- | --- | --- | --- |');
    for (const [name, v] of Object.entries(c.variants)) {
      const failures = v.B.n - (v.B.statuses['201'] ?? 0) + (v.A.n - (v.A.statuses['201'] ?? 0));
      const verdict =
        name === 'striped' ? (v.ratios.p99 <= 1.5 && failures === 0 ? 'PASS' : 'MISS') : 'what-if, not a target';
      lines.push(
        `| ${v.label} | ${v.ratios.p50}x | ${v.ratios.p99}x | ${v.ratios.wall}x | ${v.ratios.p99PerRound.join(', ')} | ${
          v.B.n - (v.B.statuses['201'] ?? 0)
        } ${Object.keys(v.B.failureTypes).length ? `(${JSON.stringify(v.B.failureTypes)})` : ''} | ${verdict} |`,
      );
    }
    lines.push('', 'Target: B/A p99 <= 1.5x with 0 failures (any status but 201) in A and B.', '');
  }
  const b = report.connections as Awaited<ReturnType<typeof connectionBudget>> | undefined;
  if (b) {
    lines.push(
      '## Connection budget: more containers than the server admits',
      '',
      `${b.containers} containers with maxPoolSize ${b.poolSize} (each also holds 1 monitoring connection to this one-member server) need up to ${b.needed} connections; the server closes any beyond ${b.maxIncomingConnections} (--maxConns, like mongod's net.maxIncomingConnections). ${b.requests} creates, one in flight per container, all booking one service. Wall ${b.wallMs} ms.`,
      '',
      '| answer | count | p50 ms | p99 ms |',
      '| --- | --- | --- | --- |',
    );
    for (const [status, n] of Object.entries(b.statuses)) {
      const l = status === '201' ? b.created : status === '503' ? b.unavailable : null;
      lines.push(`| ${status} | ${n} | ${l?.p50Ms ?? ''} | ${l?.p99Ms ?? ''} |`);
    }
    lines.push('', `Non-201 answers by problem type: ${JSON.stringify(b.failureTypes)}`, '');
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const report: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: machine(),
    git: gitHead(),
    settings: { containers, perPhase, rounds, budgetContainers, budgetMaxConns, budgetRequests },
  };
  log('building: serverless package (the createOrder bundle as deployed), then the what-if bundle');
  const yml = readServerlessYml();
  const { options, outputFileExtension } = esbuildOptionsFromServerless(yml);
  const createOrder = functionEntries(yml, outputFileExtension).filter((f) => f.name === 'createOrder');
  const packageDir = await serverlessPackage(join(workDir, 'sls'), log);
  const [packaged] = extractFunctionBundles(packageDir, createOrder, join(workDir, 'bundles'), new Set());
  const whatIf = await buildWhatIf(
    'what-if: createOrder with one guard per service',
    (createOrder[0] as (typeof createOrder)[number]).entry,
    [singleServiceGuard],
    options,
    join(workDir, 'whatif'),
  );
  const bundles = { striped: (packaged as { path: string }).path, single: whatIf.path };
  if (sections.has('contention')) report.contention = await contention(bundles);
  if (sections.has('connections')) report.connections = await connectionBudget(bundles.striped);
  report.durationSeconds = round((performance.now() - startedAt) / 1000, 0);
  const markdown = renderMarkdown(report);
  const resultsDir = join(import.meta.dirname, 'results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, 'contention.md'), markdown);
  writeFileSync(join(resultsDir, 'contention.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(markdown);
  log('wrote bench/results/contention.md and bench/results/contention.json');
}

function gitHead(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot }).toString().trim();
  } catch {
    return 'unknown';
  }
}

try {
  await main();
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
