/** Renders bench/results/latest.md from the report object run.ts also writes as JSON. */
import type { TracingResults } from '../phases/tracing.ts';
import { type PreviousRun, renderAgainstPrevious, targetName } from './previousRun.ts';
import type { Summary } from './stats.ts';
import { renderTracing } from './tracingReport.ts';

/** One target of the issue: a ratio and its limit. */
/** What the scale phase (bench/phases/warmChild.ts) reports. */
export interface ScaleResults {
  small: Record<string, Summary>;
  large: Record<string, Summary>;
  smallAgain: Record<string, Summary>;
  countLarge: number;
  countSmallAgain: number;
  loadMs: number;
  deleteMs: number;
  indexes: string[];
}

export interface Check {
  section: 'cold' | 'warm' | 'scale' | 'memory';
  target: string;
  ratio: number;
  limit: number;
  /** For per-function cold-start checks: whether the function is one of the 10 API operations. */
  apiOperation?: boolean;
}

interface ColdRow {
  name: string;
  kind: string;
  apiOperation: boolean;
  bytes: number;
  importMs: Summary;
  importCpuMs: Summary;
  readyMs: Summary;
  wallMs: Summary;
  rssMiB: number;
  sizeRatio: number | null;
  importRatio: number;
  importRatioOfMedians: number;
  importCpuRatio: number;
  wallRatio: number;
}

const kb = (bytes: number) => (bytes / 1000).toFixed(1);
const x = (ratio: number | null | undefined) => (ratio === null || ratio === undefined ? '' : `${ratio.toFixed(2)}x`);
/** Three decimals where a verdict hangs on the ratio, so that 1.104 never reads as a failing "1.10x". */
const x3 = (ratio: number | null | undefined) => (ratio === null || ratio === undefined ? '' : `${ratio.toFixed(3)}x`);
const verdict = (ratio: number, limit: number) => (ratio <= limit ? 'PASS' : 'MISS');
const missBy = (ratio: number, limit: number) =>
  ratio <= limit
    ? ''
    : ` (over by ${(ratio - limit).toFixed(2)}x, i.e. ${(((ratio - limit) / limit) * 100).toFixed(0)}% above the limit)`;

function table(header: string[], rows: (string | number)[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

export function renderMarkdown(report: Record<string, unknown>): string {
  const m = report.machine as { cpu: string; cores: number; memoryGiB: number; node: string; platform: string };
  const settings = report.settings as { coldRounds: number; memoryRuns: number; scale: number };
  const lines: string[] = [
    '# Lambda performance benchmark',
    '',
    `${report.date} · ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB · Node ${m.node} (${m.platform}) · git ${report.git} · ${report.durationSeconds} s`,
    '',
    'Medians over repeated runs; every ratio compares variants measured interleaved in the same run. `bench/results/latest.json` has every figure, p95s and the per-run data.',
    '',
  ];

  const checks = (report.checks ?? []) as Array<Check & { verdict: string }>;
  const cold = report.cold as
    | {
        loadAverage: { before: number; after: number };
        results: ColdRow[];
        extrasBeyondDriver: Record<string, Record<string, { bytes: number; via: string[] }>>;
        packagedVsRebuiltMismatches: string[];
      }
    | undefined;
  if (cold) {
    const driver = cold.results.find((r) => r.kind === 'driver');
    lines.push(
      `## 1. Cold start (${settings.coldRounds} fresh \`node\` processes per variant, interleaved)`,
      '',
      'import = `await import(bundle)` until the handler export is in hand, in a process that has first loaded node:http as the Lambda runtime does before it loads a handler ("bare process" rows: nothing preloaded), measured inside the process (wall clock, and CPU time of the process, which other load on the machine barely affects); wall = spawn to exit, measured by the parent. Ratios are against the driver-alone bundle: the median over rounds of the ratio within a round (the two processes ran moments apart); the load target uses the import ratio.',
      '',
      `Load average (1 min) before / after this section: ${cold.loadAverage.before} / ${cold.loadAverage.after}.`,
      '',
      ...table(
        [
          'variant',
          'bundle KB',
          'size ratio',
          'import ms',
          'import p95',
          'import ratio',
          'import CPU ms',
          'CPU ratio',
          'wall ms',
          'wall ratio',
          'RSS MiB',
          'load target',
          'size target',
        ],
        cold.results.map((r) => [
          r.kind === 'function'
            ? `${r.name}${r.apiOperation ? '' : ' (no DB)'}`
            : r.kind === 'whatif'
              ? `_${r.name}_`
              : `**${r.name}**`,
          r.bytes ? kb(r.bytes) : '-',
          r.bytes ? x3(r.sizeRatio) : '-',
          r.importMs.median.toFixed(1),
          r.importMs.p95.toFixed(1),
          x3(r.importRatio),
          r.importCpuMs.median.toFixed(1),
          x(r.importCpuRatio),
          r.wallMs.median.toFixed(1),
          x(r.wallRatio),
          r.rssMiB.toFixed(1),
          r.kind === 'function'
            ? verdict(r.importRatio, 1.1)
            : r.kind === 'express'
              ? '(expected ~1.45x)'
              : r.kind === 'whatif'
                ? '(diagnostic)'
                : '',
          r.kind === 'function' ? verdict(r.sizeRatio ?? 0, 1.1) : '',
        ]),
      ),
      '',
    );
    if (driver) {
      const empty = cold.results.find((r) => r.kind === 'empty');
      if (empty) {
        const net = (r: ColdRow) => r.importMs.median - empty.importMs.median;
        const express = cold.results.find((r) => r.kind === 'express');
        lines.push(
          `Import time net of an empty module (${empty.importMs.median.toFixed(1)} ms): driver ${net(driver).toFixed(1)} ms${express ? `, Express ${net(express).toFixed(1)} ms (${x(net(express) / net(driver))})` : ''}; functions ${cold.results
            .filter((r) => r.kind === 'function' && r.apiOperation)
            .map((r) => x(net(r) / net(driver)))
            .join(', ')} of the driver's.`,
          '',
        );
      }
    }
    const bare = cold.results.filter((r) => r.name.includes('bare process'));
    if (bare.length === 2 && bare[0] && bare[1]) {
      const [bareDriver, bareFunction] = bare;
      lines.push(
        `Bare processes (nothing preloaded, not what Lambda does): ${bareFunction.importMs.median.toFixed(1)} ms against the driver's ${bareDriver.importMs.median.toFixed(1)} ms, ${x(bareFunction.importMs.median / bareDriver.importMs.median)} (ratio of medians).`,
        '',
      );
    }
    const apiExtras = Object.entries(cold.extrasBeyondDriver).filter(([name]) =>
      cold.results.some((r) => r.name === name && (r.apiOperation || r.kind === 'express')),
    );
    if (apiExtras.length > 0) {
      lines.push('### What the bundles carry beyond the driver alone (bytes in the minified output, by package)', '');
      for (const [name, extras] of apiExtras) {
        const entries = Object.entries(extras);
        const total = entries.reduce((sum, [, e]) => sum + e.bytes, 0);
        const top = entries
          .slice(0, 6)
          .map(([pkg, e]) => `${pkg} ${kb(e.bytes)}`)
          .join(', ');
        lines.push(`- **${name}**: +${kb(total)} KB: ${top}${entries.length > 6 ? ', …' : ''}`);
      }
      const heavy = new Map<string, { bytes: number; via: string[] }>();
      for (const [, extras] of apiExtras.filter(([name]) => name !== 'Express lambdalith')) {
        for (const [pkg, e] of Object.entries(extras))
          if (!pkg.startsWith('lib/') && !pkg.startsWith('functions/') && e.bytes > 10_000 && !heavy.has(pkg))
            heavy.set(pkg, e);
      }
      if (heavy.size > 0) {
        lines.push(
          '',
          'Heaviest third-party additions in the API functions, and the import chain that pulls each in:',
          '',
        );
        for (const [pkg, e] of heavy)
          lines.push(
            `- ${pkg} (${kb(e.bytes)} KB): ${e.via.map((p) => p.replace(/^.*node_modules\//, '')).join(' → ')}`,
          );
      }
      lines.push('');
    }
    if (cold.packagedVsRebuiltMismatches.length > 0) {
      lines.push(
        `Note: the composition rebuild differs from the packaged bundle for ${cold.packagedVsRebuiltMismatches.join('; ')}.`,
        '',
      );
    }
  }

  const warm = report.warm as
    | {
        get: Record<string, Summary>;
        list: Record<string, Summary>;
        create: Record<string, Summary>;
        roundTrips: Record<string, number>;
      }
    | undefined;
  if (warm) {
    const rows: (string | number)[][] = [];
    const add = (op: string, samples: Record<string, Summary>, limit: number | null) => {
      const base = samples.driver as Summary;
      for (const [name, s] of Object.entries(samples)) {
        const ratio = s.median / base.median;
        rows.push([
          op,
          name === 'driver' ? '**bare driver**' : name,
          s.median.toFixed(3),
          s.p95.toFixed(3),
          s.n,
          name === 'driver' ? '1.00x' : x3(ratio),
          limit !== null && name === 'handler' ? `${verdict(ratio, limit)} (<= ${limit}x)` : '',
        ]);
      }
    };
    // The limits are the checks' own (bench/run.ts), so the table and the targets never disagree.
    const limitOf = (name: string) => checks.find((c) => targetName(c.target) === name)?.limit ?? null;
    add('GET /orders/{id}', warm.get, limitOf('warm GET by id'));
    add('POST /orders', warm.create, limitOf('warm create'));
    add('GET /orders?from=…&limit=20', warm.list, null);
    lines.push(
      '## 2. Warm overhead, in process, against the embedded MongoDB (separate process)',
      '',
      'Handlers from functions/orders (gateway auth mode, as deployed) invoked with API Gateway v2 events, interleaved call by call with the bare driver doing the same work (GET: `findOne({_id})`; create: range `findOne` for the 3-hour rule + `insertOne`; list: `find().sort().limit(21)`) and with the Express lambdalith (serverless-http handler).',
      '',
      ...table(['operation', 'variant', 'median ms', 'p95 ms', 'n', 'vs driver', 'target'], rows),
      '',
      'Messages sent to MongoDB per request (counted by a proxy, not timed):',
      '',
      ...table(
        ['request', 'messages'],
        Object.entries(warm.roundTrips).map(([name, n]) => [name, n.toFixed(1)]),
      ),
      '',
    );
  }

  const scale = report.scale as ScaleResults | undefined;
  if (scale) {
    const names = Object.keys(scale.small);
    lines.push(
      '## 3. Scale: latency with 1,000 vs 100,000 existing orders',
      '',
      `Orders bulk-loaded with insertMany 8 h apart (99,000 in ${(scale.loadMs / 1000).toFixed(1)} s); new orders land 4 h after a random existing one. The 1,000 case runs before and after the 100,000 case (after a deleteMany back to ${scale.countSmallAgain}) to expose drift.`,
      '',
      ...table(
        [
          'measure',
          '1,000 (before) ms',
          `${scale.countLarge.toLocaleString('en')} ms`,
          '1,000 (after) ms',
          'p95 at 100,000',
          'ratio 100k / 1k',
        ],
        names.map((name) => {
          const a = scale.small[name] as Summary;
          const b = scale.large[name] as Summary;
          const c = scale.smallAgain[name] as Summary;
          const baseline = (a.median + c.median) / 2;
          return [
            name,
            a.median.toFixed(3),
            b.median.toFixed(3),
            c.median.toFixed(3),
            b.p95.toFixed(3),
            x(b.median / baseline),
          ];
        }),
      ),
      '',
    );
  }

  const memory = report.memory as
    | {
        functions: {
          rssMiB: Record<string, number>;
          heapUsedMiB: Record<string, number>;
          ratio: number;
          ratioPerRun: number[];
        };
        express: { rssMiB: Record<string, number>; heapUsedMiB: Record<string, number>; ratio: number };
      }
    | undefined;
  if (memory) {
    lines.push(
      `## 4. Memory: RSS after 1,000 vs 10,000 warm invocations (GET, list, create in turn; full GC before each reading; median of ${settings.memoryRuns} processes)`,
      '',
      ...table(
        ['variant', 'RSS at 1,000 MiB', 'RSS at 10,000 MiB', 'ratio', 'heap used 1,000 / 10,000 MiB'],
        [
          [
            'functions (getOrder, listOrders, createOrder)',
            memory.functions.rssMiB['1000'] ?? '',
            memory.functions.rssMiB['10000'] ?? '',
            `${x(memory.functions.ratio)} (runs: ${memory.functions.ratioPerRun.map((r) => r.toFixed(3)).join(', ')})`,
            `${memory.functions.heapUsedMiB['1000']} / ${memory.functions.heapUsedMiB['10000']}`,
          ],
          [
            'Express lambdalith (1 run)',
            memory.express.rssMiB['1000'] ?? '',
            memory.express.rssMiB['10000'] ?? '',
            x(memory.express.ratio),
            `${memory.express.heapUsedMiB['1000']} / ${memory.express.heapUsedMiB['10000']}`,
          ],
        ],
      ),
      '',
    );
  }

  lines.push(...renderTracing(report.tracing as TracingResults | undefined));

  if (checks.length > 0) {
    const perFunction = checks.filter((c) => c.section === 'cold');
    const others = checks.filter((c) => c.section !== 'cold');
    lines.push('## Targets', '');
    const summarizeCold = (label: string, filter: (c: Check) => boolean) => {
      const group = perFunction.filter(filter);
      if (group.length === 0) return;
      const worst = group.reduce((a, b) => (b.ratio / b.limit > a.ratio / a.limit ? b : a));
      const passed = group.filter((c) => c.ratio <= c.limit).length;
      lines.push(
        `- ${group.every((c) => c.ratio <= c.limit) ? 'PASS' : 'MISS'}: ${label}: ${passed}/${group.length} pass; worst ${worst.target.replace(/ <=.*$/, '')} at ${x3(worst.ratio)}${missBy(worst.ratio, worst.limit)}`,
      );
    };
    summarizeCold(
      'module load <= 1.10x driver alone, API operations',
      (c) => c.target.startsWith('module') && c.apiOperation === true,
    );
    summarizeCold(
      'bundle size <= 1.10x driver alone, API operations',
      (c) => c.target.startsWith('bundle') && c.apiOperation === true,
    );
    summarizeCold(
      'module load <= 1.10x driver alone, other functions (no database)',
      (c) => c.target.startsWith('module') && c.apiOperation !== true,
    );
    summarizeCold(
      'bundle size <= 1.10x driver alone, other functions (no database)',
      (c) => c.target.startsWith('bundle') && c.apiOperation !== true,
    );
    for (const c of others)
      lines.push(`- ${verdict(c.ratio, c.limit)}: ${c.target}: ${x3(c.ratio)}${missBy(c.ratio, c.limit)}`);
    lines.push('');
  }
  const previous = report.previous as PreviousRun | undefined;
  if (previous) {
    const warm = report.warm as { roundTrips?: Record<string, number> } | undefined;
    lines.push(...renderAgainstPrevious(previous, checks, warm?.roundTrips));
  }
  return lines.join('\n');
}
