/**
 * Section 5 of `npm run bench` (BENCH_SECTIONS=tracing): what tracing costs getOrder, and the
 * choice it supports, in-bundle OpenTelemetry (lib/observability/tracing.ts, as packaged) against
 * the ADOT Lambda layer (its stand-in from npm, bench/lib/adotStandIn.ts), both against the same
 * function with tracing stubbed out (a what-if bundle). Same run, variants interleaved:
 * - cold: each variant loaded in fresh processes (bench/phases/coldStart.ts); the layer's cost is
 *   paid before the handler's import, so "ready" (process start to handler in hand) is the figure
 *   that compares them;
 * - containers: each variant in its own process against the embedded MongoDB
 *   (bench/phases/tracingChild.mjs), the first invocation and warm invocations timed, every
 *   invocation sampled (`_X_AMZN_TRACE_ID` with Sampled=1) and its spans sent over UDP to a stub
 *   X-Ray endpoint in this process, which counts datagrams and bytes.
 */
import { createSocket } from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type * as esbuild from 'esbuild';
import { MongoClient } from 'mongodb';
import { startEmbeddedMongo } from '../../dev/mongo/index.ts';
import { type AdotStandIn, layerEnvironment, prepareAdotStandIn } from '../lib/adotStandIn.ts';
import { type Bundle, buildWhatIf } from '../lib/build.ts';
import { runChild } from '../lib/childProcess.ts';
import { events, seedOrderId, seedOrders, seedServices } from '../lib/requests.ts';
import { median, percentile, rotate, round, summarize } from '../lib/stats.ts';
import { withoutTracing } from '../lib/whatIfs.ts';
import { type ColdResult, lambdaLikeEnv, measureColdStarts } from './coldStart.ts';

const CHILD = join(import.meta.dirname, 'tracingChild.mjs');

export interface TracingOptions {
  /** getOrder as `serverless package` wrote it, and its source entry. */
  packaged: Bundle;
  entry: string;
  options: esbuild.BuildOptions;
  workDir: string;
  coldRounds: number;
  containerRounds: number;
  warmup: number;
  iterations: number;
  log: (line: string) => void;
}

interface Variant {
  name: string;
  bundle: Bundle;
  nodeArgs: string[];
  env: Record<string, string>;
  /** Does this variant send spans (so the stub endpoint should see datagrams)? */
  traced: boolean;
}

interface ContainerRun {
  importMs: number;
  readySinceProcessStartMs: number;
  firstInvocationMs: number;
  firstInvocationCpuMs: number;
  warmCpuPerInvocationMs: number;
  samples: number[];
  rssBytes: number;
  datagrams: number;
  datagramBytes: number;
}

/** Runs one container of a variant; the stub X-Ray endpoint of this run counts what arrives. */
async function container(variant: Variant, eventPath: string, options: TracingOptions, mongoUri: string) {
  const endpoint = createSocket('udp4');
  await new Promise<void>((resolve) => endpoint.bind(0, '127.0.0.1', resolve));
  let datagrams = 0;
  let datagramBytes = 0;
  endpoint.on('message', (message) => {
    datagrams++;
    datagramBytes += message.length;
  });
  const env: NodeJS.ProcessEnv = {
    ...lambdaLikeEnv(),
    MONGODB_URI: mongoUri,
    MONGODB_DATABASE: 'bench_tracing',
    ...(variant.traced && { AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${endpoint.address().port}` }),
    ...variant.env,
  };
  try {
    const args = [
      ...variant.nodeArgs,
      CHILD,
      variant.bundle.path,
      variant.bundle.exportName,
      eventPath,
      String(options.warmup),
      String(options.iterations),
    ];
    const { stdout: output } = await runChild(process.execPath, args, { env });
    // Let the last datagrams arrive.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const line = output
      .trim()
      .split('\n')
      .reverse()
      .find((l) => l.includes('"samples"'));
    if (!line) throw new Error(`${variant.name}: no result line`);
    return { ...(JSON.parse(line) as Omit<ContainerRun, 'datagrams' | 'datagramBytes'>), datagrams, datagramBytes };
  } finally {
    endpoint.close();
  }
}

/** Measures the tracing variants; returns the section's results for the report and JSON. */
export async function measureTracing(options: TracingOptions) {
  const { log, workDir } = options;
  mkdirSync(workDir, { recursive: true });
  const untraced = await buildWhatIf(
    'getOrder without tracing',
    options.entry,
    [withoutTracing],
    options.options,
    join(workDir, 'whatif'),
  );
  let standIn: AdotStandIn | undefined;
  let standInError: string | undefined;
  try {
    log('tracing: assembling the ADOT layer stand-in (npm install + bundle, about 20 s)');
    standIn = await prepareAdotStandIn(join(workDir, 'adot'));
  } catch (error) {
    standInError = error instanceof Error ? error.message.slice(0, 500) : String(error);
    log(`tracing: no ADOT stand-in (${standInError}); its rows are left out`);
  }
  const handler = (bundle: Bundle) =>
    `${bundle.path
      .split('/')
      .at(-1)
      ?.replace(/\.m?js$/, '')}.${bundle.exportName}`;
  const layer = (lite: boolean): Variant | undefined =>
    standIn && {
      name: `ADOT layer stand-in, ${lite ? 'lite (OTEL_AWS_LAMBDA_FAST_START)' : 'full SDK (default)'}`,
      bundle: untraced,
      nodeArgs: ['--import', lite ? standIn.lite : standIn.full],
      env: layerEnvironment(dirname(untraced.path), handler(untraced), lite),
      traced: true,
    };
  const variants: Variant[] = [
    { name: 'no tracing (what-if: tracing stubbed out)', bundle: untraced, nodeArgs: [], env: {}, traced: false },
    { name: 'in-bundle OpenTelemetry (as packaged)', bundle: options.packaged, nodeArgs: [], env: {}, traced: true },
    ...[layer(false), layer(true)].filter((v): v is Variant => v !== undefined),
  ];

  log(`tracing: cold start, ${variants.length} variants x ${options.coldRounds} fresh processes`);
  const cold = await measureColdStarts(
    variants.map((v) => ({
      ...v.bundle,
      name: v.name,
      kind: 'whatif' as const,
      nodeArgs: v.nodeArgs,
      env: { ...v.env, ...(v.traced && { AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000' }) },
    })),
    join(workDir, 'cold'),
    options.coldRounds,
    log,
  );
  const coldByName = new Map(cold.map((c) => [c.name, c]));
  const reference = coldByName.get(variants[0]?.name ?? '') as ColdResult;
  const pairedRatio = (c: ColdResult, pick: (s: ColdResult['samples'][number]) => number) =>
    round(median(c.samples.map((s, i) => pick(s) / pick(reference.samples[i] as ColdResult['samples'][number]))), 3);
  const coldRows = variants.map((v) => {
    const c = coldByName.get(v.name) as ColdResult;
    return {
      name: v.name,
      bundleBytes: c.bytes,
      importMs: c.importMs,
      readyMs: c.readyMs,
      wallMs: c.wallMs,
      rssMiB: c.rssMiB,
      importRatio: pairedRatio(c, (s) => s.importMs),
      readyRatio: pairedRatio(c, (s) => s.readyMs),
      importCpuMs: c.importCpuMs.median,
      importCpuRatio: pairedRatio(c, (s) => s.importCpuMs),
      readyCpuMs: round(median(c.samples.map((s) => s.readyCpuMs)), 1),
      readyCpuRatio: pairedRatio(c, (s) => s.readyCpuMs),
      wallRatio: pairedRatio(c, (s) => s.wallMs),
    };
  });

  log('tracing: containers against the embedded MongoDB');
  const mongo = await startEmbeddedMongo({ port: 0, log: () => {} });
  const runs = new Map<string, ContainerRun[]>(variants.map((v) => [v.name, []]));
  try {
    const client = new MongoClient(mongo.uri);
    await client.connect();
    const db = client.db('bench_tracing');
    await db.dropDatabase();
    await seedServices(db);
    await seedOrders(db, 0, 100);
    await client.close();
    const eventPath = join(workDir, 'getOrder-event.json');
    writeFileSync(eventPath, JSON.stringify(events.getOrder(seedOrderId(7))));
    for (let round_ = 0; round_ < options.containerRounds; round_++) {
      for (const variant of rotate(variants, round_)) {
        runs.get(variant.name)?.push(await container(variant, eventPath, options, mongo.uri));
      }
      log(`  tracing containers: round ${round_ + 1}/${options.containerRounds}`);
    }
  } finally {
    await mongo.stop();
  }
  const base = runs.get(variants[0]?.name ?? '') as ContainerRun[];
  const warmRows = variants.map((v) => {
    const xs = runs.get(v.name) as ContainerRun[];
    const all = xs.flatMap((r) => r.samples);
    const invocations = xs.length * (1 + options.warmup + options.iterations);
    const datagrams = xs.reduce((sum, r) => sum + r.datagrams, 0);
    return {
      name: v.name,
      warm: summarize(all, 3),
      // Per round: this variant's median over the reference's, both measured moments apart.
      warmRatio: round(median(xs.map((r, i) => median(r.samples) / median(base[i]?.samples ?? [1]))), 3),
      warmP95Ratio: round(
        median(xs.map((r, i) => percentile(r.samples, 95) / percentile(base[i]?.samples ?? [1], 95))),
        3,
      ),
      firstInvocationMs: round(median(xs.map((r) => r.firstInvocationMs)), 1),
      firstInvocationRatio: round(median(xs.map((r, i) => r.firstInvocationMs / (base[i]?.firstInvocationMs ?? 1))), 3),
      firstInvocationCpuMs: round(median(xs.map((r) => r.firstInvocationCpuMs)), 1),
      warmCpuPerInvocationMs: round(median(xs.map((r) => r.warmCpuPerInvocationMs)), 3),
      warmCpuRatio: round(
        median(xs.map((r, i) => r.warmCpuPerInvocationMs / (base[i]?.warmCpuPerInvocationMs ?? 1))),
        3,
      ),
      readySinceProcessStartMs: round(median(xs.map((r) => r.readySinceProcessStartMs)), 1),
      rssMiB: round(median(xs.map((r) => r.rssBytes)) / 2 ** 20, 1),
      datagramsPerInvocation: round(datagrams / invocations, 3),
      bytesPerDatagram: datagrams ? Math.round(xs.reduce((sum, r) => sum + r.datagramBytes, 0) / datagrams) : 0,
    };
  });
  return {
    adotPackage: standIn ? (await import('../lib/adotStandIn.ts')).ADOT_PACKAGE : null,
    standInError: standInError ?? null,
    settings: {
      coldRounds: options.coldRounds,
      containerRounds: options.containerRounds,
      warmup: options.warmup,
      iterations: options.iterations,
    },
    cold: coldRows,
    containers: warmRows,
  };
}

/** What measureTracing returns. */
export type TracingResults = Awaited<ReturnType<typeof measureTracing>>;
