/**
 * `npm run bench`: cold start, warm overhead, scale and memory of the Lambda functions,
 * against the bare `mongodb` driver (the floor) and against the same API written as one
 * Express app wrapped by serverless-http (the usual alternative). See bench/README.md.
 *
 * Prints a report and writes bench/results/latest.{md,json}. Every figure is a median over
 * repeated runs; every comparison is a ratio of variants measured interleaved in the same run.
 * Knobs (environment): BENCH_COLD_RUNS (default 25), BENCH_SCALE (iteration multiplier for the
 * in-process sections, default 1), BENCH_MEMORY_RUNS (default 3), BENCH_SECTIONS (comma list of
 * cold,warm,memory; default all).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { routes } from '#lib/http/routes';
import { startEmbeddedMongo } from '../dev/mongo/index.ts';
import {
  type Bundle,
  buildBaselines,
  buildWhatIf,
  type Composition,
  compose,
  esbuildOptionsFromServerless,
  extractFunctionBundles,
  functionEntries,
  readServerlessYml,
  repoRoot,
  serverlessPackage,
} from './lib/build.ts';
import { readPreviousRun } from './lib/previousRun.ts';
import { type Check, renderMarkdown, type ScaleResults } from './lib/report.ts';
import { machine, median, round, type Summary } from './lib/stats.ts';
import { plainJsonLogger, withoutIdempotencyMiddleware, withoutMetricsMiddleware } from './lib/whatIfs.ts';
import { type ColdResult, measureColdStarts } from './phases/coldStart.ts';
import { measureTracing } from './phases/tracing.ts';

const benchStartedAt = performance.now();
const sections = new Set((process.env.BENCH_SECTIONS ?? 'cold,warm,memory,tracing').split(','));
const coldRounds = Number(process.env.BENCH_COLD_RUNS ?? 25);
const memoryRuns = Number(process.env.BENCH_MEMORY_RUNS ?? 3);
const log = (line: string) =>
  console.error(`[bench ${((performance.now() - benchStartedAt) / 1000).toFixed(0).padStart(3)}s] ${line}`);

const workDir = mkdtempSync(join(tmpdir(), 'order-bench-'));
const resultsDir = join(import.meta.dirname, 'results');

function gitDescription(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: repoRoot }).toString().trim() !== '';
    return `${head}${dirty ? ' + uncommitted changes' : ''}`;
  } catch {
    return 'unknown';
  }
}

/** Runs a TypeScript child with tsx; resolves with the JSON it wrote. */
async function runChild<T>(script: string, env: NodeJS.ProcessEnv, nodeFlags: string[] = []): Promise<T> {
  const out = join(workDir, `${script.replace(/\W/g, '_')}-${Date.now()}.json`);
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.NODE_OPTIONS;
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', join(import.meta.dirname, script), out], {
      cwd: repoRoot,
      env: childEnv,
      // stdout carries the handlers' request logs (one JSON line per request, as in Lambda): discarded.
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', resolve);
  });
  if (code !== 0) throw new Error(`${script} failed with exit code ${code}`);
  return JSON.parse(readFileSync(out, 'utf8')) as T;
}

interface WarmResults {
  warm: {
    get: Record<string, Summary>;
    list: Record<string, Summary>;
    create: Record<string, Summary>;
    roundTrips: Record<string, number>;
  };
  scale: ScaleResults;
}

interface MemoryReading {
  rssBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
}

async function main(): Promise<void> {
  const report: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: machine(),
    git: gitDescription(),
    settings: { coldRounds, memoryRuns, scale: Number(process.env.BENCH_SCALE ?? 1) },
  };
  const checks: Check[] = [];
  // getOrder as packaged: section 1 extracts it; section 5 (tracing) packages it if 1 did not run.
  let packagedGetOrder: Bundle | undefined;

  // ------------------------------------------------------------------ 1. cold start
  if (sections.has('cold')) {
    log('building: serverless package (serverless-esbuild), then the baselines with the same esbuild options');
    const yml = readServerlessYml();
    const { options, outputFileExtension } = esbuildOptionsFromServerless(yml);
    const functions = functionEntries(yml, outputFileExtension);
    const packageDir = await serverlessPackage(join(workDir, 'sls'), log);
    const apiOperations = new Set(routes.map((r) => r.functionName));
    const functionBundles = extractFunctionBundles(packageDir, functions, join(workDir, 'bundles'), apiOperations);
    packagedGetOrder = functionBundles.find((b) => b.name === 'getOrder');
    const baselines = await buildBaselines(options, join(workDir, 'baselines'));
    const getOrderEntry = functions.find((f) => f.name === 'getOrder');
    const whatIfs: Bundle[] = getOrderEntry
      ? [
          await buildWhatIf(
            'what-if: getOrder with a plain JSON logger',
            getOrderEntry.entry,
            [plainJsonLogger],
            options,
            join(workDir, 'whatif'),
          ),
        ]
      : [];
    const notFoundEntry = functions.find((f) => f.name === 'notFound');
    if (notFoundEntry) {
      whatIfs.push(
        await buildWhatIf(
          'what-if: notFound without the idempotency import',
          notFoundEntry.entry,
          [withoutIdempotencyMiddleware],
          options,
          join(workDir, 'whatif'),
        ),
      );
    }
    const createOrderEntry = functions.find((f) => f.name === 'createOrder');
    if (createOrderEntry) {
      whatIfs.push(
        await buildWhatIf(
          'what-if: createOrder without the metrics middleware',
          createOrderEntry.entry,
          [withoutMetricsMiddleware],
          options,
          join(workDir, 'whatif'),
        ),
      );
    }
    // The same two bundles loaded in a bare process, without the node:http the Lambda runtime has
    // already loaded (bench/phases/coldStartLoader.mjs): what a plain `node` process pays.
    const driverBundle = baselines.find((b) => b.kind === 'driver');
    const createOrderBundle = functionBundles.find((b) => b.name === 'createOrder');
    for (const b of [driverBundle, createOrderBundle]) {
      if (b)
        whatIfs.push({
          ...b,
          name: `what-if: ${b.name}, bare process (node:http not preloaded)`,
          kind: 'whatif',
          bare: true,
        });
    }
    const bundles: Bundle[] = [...baselines, ...functionBundles, ...whatIfs];

    log('analysing bundle composition (esbuild metafile, same options)');
    const compositions: Record<string, Composition> = {};
    compositions['driver alone'] = await compose('bench/baseline/driverOnly.ts', options);
    compositions['Express lambdalith'] = await compose('bench/baseline/expressApp.ts', options);
    for (const fn of functions) compositions[fn.name] = await compose(fn.entry, options);
    const mismatches = functionBundles
      .filter((b) => compositions[b.name]?.bytes !== b.bytes)
      .map((b) => `${b.name}: packaged ${b.bytes} B, rebuilt ${compositions[b.name]?.bytes} B`);

    log(`cold start: ${bundles.length + 1} variants x ${coldRounds} fresh node processes, interleaved`);
    const loadBefore = loadavg()[0] ?? 0;
    const cold = await measureColdStarts(bundles, join(workDir, 'cold'), coldRounds, log);
    const loadAverage = { before: round(loadBefore, 2), after: round(loadavg()[0] ?? 0, 2) };
    const driver = cold.find((c) => c.kind === 'driver') as ColdResult;
    // Each ratio is the median over rounds of (variant / driver alone) within the round: the two
    // samples were taken moments apart, so slow drifts of the machine's load cancel out.
    const paired = (c: ColdResult, pick: (s: ColdResult['samples'][number]) => number) =>
      round(median(c.samples.map((s, i) => pick(s) / pick(driver.samples[i] as ColdResult['samples'][number]))), 3);
    const withRatios = cold.map((c) => ({
      ...c,
      sizeRatio: c.bytes ? round(c.bytes / driver.bytes, 3) : null,
      importRatio: paired(c, (s) => s.importMs),
      importRatioOfMedians: round(c.importMs.median / driver.importMs.median, 3),
      importCpuRatio: paired(c, (s) => s.importCpuMs),
      wallRatio: paired(c, (s) => s.wallMs),
    }));
    for (const c of withRatios) {
      if (c.kind !== 'function') continue;
      checks.push({
        section: 'cold',
        target: `module load of ${c.name} <= 1.10x driver alone`,
        ratio: c.importRatio,
        limit: 1.1,
        apiOperation: c.apiOperation,
      });
      checks.push({
        section: 'cold',
        target: `bundle size of ${c.name} <= 1.10x driver alone`,
        ratio: c.sizeRatio ?? 0,
        limit: 1.1,
        apiOperation: c.apiOperation,
      });
    }
    // What the function bundles carry beyond the driver alone, package by package.
    const driverPackages = new Set(Object.keys(compositions['driver alone']?.byPackage ?? {}));
    const extras: Record<string, Record<string, { bytes: number; via: string[] }>> = {};
    for (const [name, composition] of Object.entries(compositions)) {
      if (name === 'driver alone') continue;
      extras[name] = Object.fromEntries(
        Object.entries(composition.byPackage)
          .filter(([pkg]) => !driverPackages.has(pkg))
          .sort((a, b) => b[1] - a[1])
          .map(([pkg, bytes]) => [pkg, { bytes, via: composition.chains[pkg] ?? [] }]),
      );
    }
    report.cold = {
      loadAverage,
      results: withRatios,
      extrasBeyondDriver: extras,
      packagedVsRebuiltMismatches: mismatches,
    };
  }

  // ------------------------------------------------------------------ 2-4. in process, against the embedded MongoDB
  if (sections.has('warm') || sections.has('memory')) {
    log('starting the embedded MongoDB (in this process; the handlers run in child processes)');
    const mongo = await startEmbeddedMongo({ port: 0, log: () => {} });
    const env = {
      MONGODB_URI: mongo.uri,
      MONGODB_DATABASE: 'bench_warm',
      AUTH_MODE: 'gateway',
      ORDER_WINDOW_MINUTES: '180',
      AWS_REGION: 'eu-west-1',
      POWERTOOLS_SERVICE_NAME: 'order-management-api',
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'INFO',
      // Metric records are written as on AWS (to the discarded stdout), so the handlers pay for them.
      POWERTOOLS_METRICS_DISABLED: 'false',
    };
    try {
      if (sections.has('warm')) {
        log('warm overhead and scale (child process)');
        const results = await runChild<WarmResults>('phases/warmChild.ts', env);
        const { get, create, list } = results.warm;
        const ratio = (a: Summary | undefined, b: Summary | undefined) => round((a?.median ?? 0) / (b?.median ?? 1), 3);
        checks.push({
          section: 'warm',
          target: 'warm GET by id <= 1.25x bare findOne',
          ratio: ratio(get.handler, get.driver),
          limit: 1.25,
        });
        checks.push({
          section: 'warm',
          // Issue 22's target: 3 messages where the bare pair sends 2, each a round trip on Atlas (a create now sends 2).
          target: 'warm create <= 2.5x bare range findOne + insertOne',
          ratio: ratio(create.handler, create.driver),
          limit: 2.5,
        });
        const { small, large, smallAgain } = results.scale;
        const smallCreate = median([small['create: handler']?.median ?? 0, smallAgain['create: handler']?.median ?? 0]);
        checks.push({
          section: 'scale',
          target: 'create latency at 100,000 orders <= 1.5x at 1,000',
          ratio: round((large['create: handler']?.median ?? 0) / smallCreate, 3),
          limit: 1.5,
        });
        report.warm = {
          ...results.warm,
          ratios: {
            get: { handler: ratio(get.handler, get.driver), express: ratio(get.express, get.driver) },
            list: { handler: ratio(list.handler, list.driver), express: ratio(list.express, list.driver) },
            create: {
              handler: ratio(create.handler, create.driver),
              'handler + Idempotency-Key': ratio(create['handler + Idempotency-Key'], create.driver),
              express: ratio(create.express, create.driver),
            },
          },
        };
        report.scale = results.scale;
      }
      if (sections.has('memory')) {
        const runs: Array<{ target: string; readings: Record<string, MemoryReading> }> = [];
        for (let run = 0; run < memoryRuns; run++) {
          log(`memory: run ${run + 1}/${memoryRuns} (10,000 invocations, --expose-gc)`);
          runs.push(
            await runChild('phases/memoryChild.ts', { ...env, MONGODB_DATABASE: `bench_memory_${run}` }, [
              '--expose-gc',
            ]),
          );
        }
        log('memory: Express lambdalith, once');
        const expressRun = await runChild<{ target: string; readings: Record<string, MemoryReading> }>(
          'phases/memoryChild.ts',
          { ...env, MONGODB_DATABASE: 'bench_memory_express', BENCH_MEMORY_TARGET: 'express' },
          ['--expose-gc'],
        );
        const mib = (x: number) => round(x / 2 ** 20, 1);
        const at = (r: { readings: Record<string, MemoryReading> }, n: string) => r.readings[n] as MemoryReading;
        const rss1k = median(runs.map((r) => at(r, '1000').rssBytes));
        const rss10k = median(runs.map((r) => at(r, '10000').rssBytes));
        const ratios = runs.map((r) => at(r, '10000').rssBytes / at(r, '1000').rssBytes);
        checks.push({
          section: 'memory',
          target: 'RSS at 10,000 invocations <= 1.1x at 1,000',
          ratio: round(median(ratios), 3),
          limit: 1.1,
        });
        report.memory = {
          functions: {
            rssMiB: { '1000': mib(rss1k), '10000': mib(rss10k) },
            heapUsedMiB: {
              '1000': mib(median(runs.map((r) => at(r, '1000').heapUsedBytes))),
              '10000': mib(median(runs.map((r) => at(r, '10000').heapUsedBytes))),
            },
            ratioPerRun: ratios.map((r) => round(r, 3)),
            ratio: round(median(ratios), 3),
            runs,
          },
          express: {
            rssMiB: { '1000': mib(at(expressRun, '1000').rssBytes), '10000': mib(at(expressRun, '10000').rssBytes) },
            heapUsedMiB: {
              '1000': mib(at(expressRun, '1000').heapUsedBytes),
              '10000': mib(at(expressRun, '10000').heapUsedBytes),
            },
            ratio: round(at(expressRun, '10000').rssBytes / at(expressRun, '1000').rssBytes, 3),
          },
        };
      }
    } finally {
      await mongo.stop();
    }
  }

  // ------------------------------------------------------------------ 5. tracing
  if (sections.has('tracing')) {
    const yml = readServerlessYml();
    const { options, outputFileExtension } = esbuildOptionsFromServerless(yml);
    const getOrder = functionEntries(yml, outputFileExtension).find((f) => f.name === 'getOrder');
    if (!getOrder) throw new Error('serverless.yml has no getOrder function');
    if (!packagedGetOrder) {
      log('tracing: serverless package (section 1 did not run)');
      const packageDir = await serverlessPackage(join(workDir, 'sls-tracing'), log);
      [packagedGetOrder] = extractFunctionBundles(
        packageDir,
        [getOrder],
        join(workDir, 'bundles'),
        new Set(['getOrder']),
      );
    }
    const scale = Number(process.env.BENCH_SCALE ?? 1);
    report.tracing = await measureTracing({
      packaged: packagedGetOrder as Bundle,
      entry: getOrder.entry,
      options,
      workDir: join(workDir, 'tracing'),
      coldRounds: Number(process.env.BENCH_TRACING_COLD_RUNS ?? 15),
      containerRounds: Number(process.env.BENCH_TRACING_ROUNDS ?? 4),
      warmup: Math.round(100 * scale),
      iterations: Math.round(400 * scale),
      log,
    });
  }

  report.checks = checks.map((c) => ({ ...c, verdict: c.ratio <= c.limit ? 'PASS' : 'MISS' }));
  report.durationSeconds = round((performance.now() - benchStartedAt) / 1000, 1);
  mkdirSync(resultsDir, { recursive: true });
  // BENCH_RESULTS_NAME: a partial run (BENCH_SECTIONS=tracing) can keep its own file beside latest.
  const resultsName = process.env.BENCH_RESULTS_NAME ?? 'latest';
  report.previous = readPreviousRun(join(resultsDir, `${resultsName}.json`));
  const markdown = renderMarkdown(report);
  writeFileSync(join(resultsDir, `${resultsName}.md`), markdown);
  writeFileSync(join(resultsDir, `${resultsName}.json`), `${JSON.stringify(report, null, 2)}\n`);
  console.log(markdown);
  log(`wrote bench/results/${resultsName}.md and bench/results/${resultsName}.json`);
}

try {
  await main();
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
