/**
 * Cold start: each bundle is imported in a fresh `node` process, N times, the variants
 * interleaved (every round visits all of them, starting at a different one).
 * Per sample: import time until the handler export is in hand (measured inside the child),
 * time from process start to that point, and whole-process wall time (spawn to exit,
 * measured by the parent). A "node + empty module" variant gives the floor of a bare process.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle } from '../lib/build.ts';
import { runChild } from '../lib/childProcess.ts';
import { median, rotate, round, summarize } from '../lib/stats.ts';

const LOADER = join(import.meta.dirname, 'coldStartLoader.mjs');

export interface ColdSample {
  importMs: number;
  importCpuMs: number;
  readyMs: number;
  /** CPU time of the whole process from its start to the handler in hand (preloaded code included). */
  readyCpuMs: number;
  wallMs: number;
  rssBytes: number;
}

export interface ColdResult {
  name: string;
  kind: Bundle['kind'] | 'empty';
  apiOperation: boolean;
  bytes: number;
  importMs: { median: number; p95: number; n: number };
  importCpuMs: { median: number; p95: number; n: number };
  readyMs: { median: number; p95: number; n: number };
  wallMs: { median: number; p95: number; n: number };
  rssMiB: number;
  /** Per-round samples, in round order, so that ratios can pair samples of the same round. */
  samples: ColdSample[];
}

/** The environment a deployed function sees (minus secrets): the same for every variant, plus a variant's own. */
export function lambdaLikeEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    LANG: 'C.UTF-8',
    TZ: 'UTC',
    AWS_REGION: 'eu-west-1',
    AWS_LAMBDA_FUNCTION_NAME: 'bench-cold-start',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    MONGODB_URI: 'mongodb://127.0.0.1:1/?directConnection=true',
    MONGODB_DATABASE: 'orders',
    ORDER_WINDOW_MINUTES: '180',
    AUTH_MODE: 'gateway',
    POWERTOOLS_SERVICE_NAME: 'order-management-api',
  };
}

type Variant = Pick<Bundle, 'name' | 'path' | 'exportName' | 'bytes' | 'apiOperation' | 'bare' | 'nodeArgs' | 'env'> & {
  kind: ColdResult['kind'];
};

async function sample(variant: Variant): Promise<ColdSample> {
  const { path: bundlePath, exportName, bare = false } = variant;
  const startedAt = performance.now();
  const args = [...(variant.nodeArgs ?? []), LOADER, bundlePath, exportName, bare ? 'bare' : 'lambda'];
  const { stdout } = await runChild(process.execPath, args, { env: { ...lambdaLikeEnv(), ...variant.env } });
  const wallMs = performance.now() - startedAt;
  const parsed = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
    importMs: number;
    importCpuMs: number;
    readySinceProcessStartMs: number;
    readyCpuMs: number;
    rssBytes: number;
  };
  return {
    importMs: parsed.importMs,
    importCpuMs: parsed.importCpuMs,
    readyMs: parsed.readySinceProcessStartMs,
    readyCpuMs: parsed.readyCpuMs,
    wallMs,
    rssBytes: parsed.rssBytes,
  };
}

export async function measureColdStarts(
  bundles: Bundle[],
  workDir: string,
  rounds: number,
  log: (line: string) => void,
): Promise<ColdResult[]> {
  mkdirSync(workDir, { recursive: true });
  const emptyPath = join(workDir, 'empty.mjs');
  writeFileSync(emptyPath, 'export const handler = async () => ({ statusCode: 200 });\n');
  const variants: Variant[] = [
    {
      name: 'node + empty module',
      kind: 'empty',
      apiOperation: false,
      path: emptyPath,
      exportName: 'handler',
      bytes: 0,
    },
    ...bundles,
  ];
  const samples = new Map<string, ColdSample[]>(variants.map((v) => [v.name, []]));
  // One unrecorded round: the first read of each file comes from disk, later ones from the page cache.
  for (const variant of variants) await sample(variant);
  for (let round_ = 0; round_ < rounds; round_++) {
    for (const variant of rotate(variants, round_)) {
      (samples.get(variant.name) as ColdSample[]).push(await sample(variant));
    }
    if ((round_ + 1) % 5 === 0 || round_ === rounds - 1) log(`  cold start: round ${round_ + 1}/${rounds}`);
  }
  return variants.map((variant) => {
    const xs = samples.get(variant.name) as ColdSample[];
    return {
      name: variant.name,
      kind: variant.kind,
      apiOperation: variant.apiOperation,
      bytes: variant.bytes,
      importMs: summarize(
        xs.map((s) => s.importMs),
        2,
      ),
      importCpuMs: summarize(
        xs.map((s) => s.importCpuMs),
        2,
      ),
      readyMs: summarize(
        xs.map((s) => s.readyMs),
        2,
      ),
      wallMs: summarize(
        xs.map((s) => s.wallMs),
        2,
      ),
      rssMiB: round(median(xs.map((s) => s.rssBytes)) / 2 ** 20, 1),
      samples: xs,
    };
  });
}
