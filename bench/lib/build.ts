/**
 * Produces every bundle the cold-start section loads:
 * - the function bundles exactly as `serverless package` (serverless-esbuild) writes them,
 *   extracted from the .zip files it produces;
 * - the two baselines (driver alone, Express lambdalith) bundled by esbuild with the options
 *   read from serverless.yml's custom.esbuild, the way serverless-esbuild passes them;
 * - a per-package breakdown of each bundle (esbuild metafile) to explain size differences.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import * as esbuild from 'esbuild';

export const repoRoot = join(import.meta.dirname, '..', '..');

/** A serverless.yml function: its name and handler ("functions/orders/get.handler"). */
export interface FunctionEntry {
  name: string;
  handler: string;
  /** Source entry, e.g. functions/orders/get.ts. */
  entry: string;
  /** Path of the bundle inside the function's zip, e.g. functions/orders/get.mjs. */
  bundleInZip: string;
  exportName: string;
}

interface ServerlessYml {
  custom?: { esbuild?: Record<string, unknown> };
  functions?: Record<string, { handler?: string }>;
}

/** Options serverless-esbuild consumes itself and never passes to esbuild (its bundle.ts list). */
const PLUGIN_ONLY_OPTIONS = [
  'concurrency',
  'zipConcurrency',
  'exclude',
  'nativeZip',
  'packager',
  'packagePath',
  'watch',
  'keepOutputDirectory',
  'packagerOptions',
  'installExtraArgs',
  'outputFileExtension',
  'outputBuildFolder',
  'outputWorkFolder',
  'nodeExternals',
  'skipBuild',
  'skipRebuild',
  'skipBuildExcludeFns',
  'stripEntryResolveExtensions',
  'disposeContext',
  'config',
];

interface YamlModule {
  load(text: string, options: { schema: unknown }): unknown;
  Type: new (tag: string, options: { kind: string; construct: (data: unknown) => unknown }) => unknown;
  DEFAULT_SCHEMA: { extend(types: unknown[]): unknown };
}

/** serverless.yml, parsed with a schema that accepts CloudFormation short tags (!Join, !Ref, …). */
export function readServerlessYml(): ServerlessYml {
  // js-yaml is serverless's own dependency (no typings here), so it is loaded untyped.
  const yaml = createRequire(import.meta.url)('js-yaml') as YamlModule;
  const tags = ['Ref', 'GetAtt', 'Join', 'Sub', 'If', 'Equals', 'Not', 'And', 'Or', 'Select', 'Split'];
  const extra = ['ImportValue', 'FindInMap', 'Base64', 'Cidr', 'GetAZs', 'Condition'];
  const types = [...tags, ...extra].flatMap((tag) =>
    ['scalar', 'sequence', 'mapping'].map(
      (kind) => new yaml.Type(`!${tag}`, { kind, construct: (data) => ({ [`Fn::${tag}`]: data }) }),
    ),
  );
  const text = readFileSync(join(repoRoot, 'serverless.yml'), 'utf8');
  return yaml.load(text, { schema: yaml.DEFAULT_SCHEMA.extend(types) }) as ServerlessYml;
}

/** esbuild options equivalent to what serverless-esbuild derives from custom.esbuild. */
export function esbuildOptionsFromServerless(yml: ServerlessYml): {
  options: esbuild.BuildOptions;
  outputFileExtension: string;
} {
  const custom = { bundle: true, target: 'node18', platform: 'node', ...(yml.custom?.esbuild ?? {}) } as Record<
    string,
    unknown
  >;
  const exclude = Array.isArray(custom.exclude)
    ? (custom.exclude as unknown[]).filter((x) => typeof x === 'string')
    : [];
  const external = Array.isArray(custom.external) ? (custom.external as string[]) : [];
  const outputFileExtension = typeof custom.outputFileExtension === 'string' ? custom.outputFileExtension : '.js';
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(custom)) {
    if (PLUGIN_ONLY_OPTIONS.includes(key) || key === 'external') continue;
    // An unresolved serverless variable only ever appears in plugin options; never pass one on.
    if (typeof value === 'string' && value.includes('${')) continue;
    options[key] = value;
  }
  return {
    options: {
      ...(options as esbuild.BuildOptions),
      external: [...external, ...(exclude.includes('*') ? [] : (exclude as string[]))],
      ...(outputFileExtension !== '.js' && { outExtension: { '.js': outputFileExtension } }),
    },
    outputFileExtension,
  };
}

export function functionEntries(yml: ServerlessYml, outputFileExtension: string): FunctionEntry[] {
  return Object.entries(yml.functions ?? {}).flatMap(([name, fn]) => {
    if (!fn.handler) return [];
    const dot = fn.handler.lastIndexOf('.');
    const base = fn.handler.slice(0, dot);
    const entry = ['.ts', '.js', '.mts', '.mjs']
      .map((ext) => `${base}${ext}`)
      .find((p) => existsSync(join(repoRoot, p)));
    if (!entry) return [];
    return [
      {
        name,
        handler: fn.handler,
        entry,
        bundleInZip: `${base}${outputFileExtension}`,
        exportName: fn.handler.slice(dot + 1),
      },
    ];
  });
}

/** Runs `serverless package` with its esbuild work folder and its artifacts in `workDir`. */
export async function serverlessPackage(workDir: string, log: (line: string) => void): Promise<string> {
  const packageDir = join(workDir, 'package');
  const esbuildDir = join(workDir, 'esbuild');
  const cli = join(repoRoot, 'node_modules', 'serverless', 'bin', 'serverless.js');
  const args = [cli, 'package', '--stage', 'dev', '--package', packageDir];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    // serverless.yml reads this to place the esbuild output; relative to the service directory.
    ESBUILD_WORK_FOLDER: relative(repoRoot, esbuildDir),
  };
  delete env.NODE_OPTIONS;
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr.on('data', (d: Buffer) => output.push(d.toString()));
    child.on('error', reject);
    child.on('exit', resolve);
  });
  if (code !== 0) throw new Error(`serverless package failed (exit ${code}):\n${output.join('')}`);
  log(
    output
      .join('')
      .split('\n')
      .filter((l) => l.includes('packaged'))
      .join(' ')
      .trim(),
  );
  return packageDir;
}

/** Extracts one file from a zip archive (stored or deflated entries, as serverless writes them). */
export function extractFromZip(zipPath: string, fileName: string): Buffer {
  const zip = readFileSync(zipPath);
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65_535); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${zipPath}: not a zip file`);
  const entries = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const names: string[] = [];
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`${zipPath}: bad central directory`);
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localOffset = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    names.push(name);
    if (name === fileName) {
      const dataStart = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
      const data = zip.subarray(dataStart, dataStart + compressedSize);
      if (method === 0) return Buffer.from(data);
      if (method === 8) return inflateRawSync(data);
      throw new Error(`${zipPath}: unsupported compression method ${method}`);
    }
    at += 46 + nameLength + extraLength + commentLength;
  }
  throw new Error(`${zipPath} has no ${fileName} (it has ${names.join(', ')})`);
}

/** One bundle as loaded by the cold-start section. */
export interface Bundle {
  /** Function name in serverless.yml, or the baseline's name. */
  name: string;
  kind: 'function' | 'driver' | 'express' | 'whatif';
  /** True for the 10 API operations (the routes table). */
  apiOperation: boolean;
  path: string;
  bytes: number;
  exportName: string;
  /** Load it in a bare process, without what the Lambda runtime loads first (bench/phases/coldStartLoader.mjs). */
  bare?: boolean;
  /** Node options before the loader (a layer's `--import` wrapper) and environment added for this variant. */
  nodeArgs?: string[];
  env?: Record<string, string>;
}

/** Extracts each function's bundle from the zips `serverless package` wrote. */
export function extractFunctionBundles(
  packageDir: string,
  functions: FunctionEntry[],
  targetDir: string,
  apiOperations: Set<string>,
): Bundle[] {
  return functions.map((fn) => {
    const data = extractFromZip(join(packageDir, `${fn.name}.zip`), fn.bundleInZip);
    const path = join(targetDir, fn.name, fn.bundleInZip);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data);
    return {
      name: fn.name,
      kind: 'function' as const,
      apiOperation: apiOperations.has(fn.name),
      path,
      bytes: data.length,
      exportName: fn.exportName,
    };
  });
}

/** Bytes each package (or source folder) contributes to a bundle, with the import chain that pulled it in. */
export interface Composition {
  bytes: number;
  byPackage: Record<string, number>;
  chains: Record<string, string[]>;
}

function packageOf(inputPath: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(inputPath);
  if (match?.[1]) return match[1];
  const parts = inputPath.split('/');
  return parts.length > 2 ? parts.slice(0, 2).join('/') : inputPath;
}

/** Builds `entry` (without writing) with the serverless options and breaks the output down by package. */
export async function compose(entry: string, options: esbuild.BuildOptions): Promise<Composition> {
  const result = await esbuild.build({
    ...options,
    entryPoints: [join(repoRoot, entry)],
    outdir: join(repoRoot, '.bench-unused-outdir'),
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const metafile = result.metafile as esbuild.Metafile;
  const output =
    Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined) ?? Object.values(metafile.outputs)[0];
  if (!output) throw new Error(`esbuild wrote nothing for ${entry}`);
  const byPackage: Record<string, number> = {};
  for (const [path, input] of Object.entries(output.inputs)) {
    const key = packageOf(path);
    byPackage[key] = (byPackage[key] ?? 0) + input.bytesInOutput;
  }
  // Breadth-first over the import graph: the shortest chain from the entry to each package.
  const parent = new Map<string, string | null>();
  const start = Object.keys(metafile.inputs).find((p) => p.endsWith(entry)) ?? entry;
  parent.set(start, null);
  const queue = [start];
  const chains: Record<string, string[]> = {};
  while (queue.length > 0) {
    const file = queue.shift() as string;
    const pkg = packageOf(file);
    if (!(pkg in chains)) {
      const chain: string[] = [];
      for (let at: string | null | undefined = file; at; at = parent.get(at)) chain.unshift(at);
      chains[pkg] = chain;
    }
    for (const imported of metafile.inputs[file]?.imports ?? []) {
      if (imported.external || parent.has(imported.path)) continue;
      parent.set(imported.path, file);
      queue.push(imported.path);
    }
  }
  return { bytes: output.bytes, byPackage, chains };
}

/** Bundles the two baselines with the serverless options; returns their bundles. */
export async function buildBaselines(options: esbuild.BuildOptions, outDir: string): Promise<Bundle[]> {
  const entries = [
    { name: 'driver alone', kind: 'driver' as const, source: 'bench/baseline/driverOnly.ts' },
    { name: 'Express lambdalith', kind: 'express' as const, source: 'bench/baseline/expressApp.ts' },
  ];
  const bundles: Bundle[] = [];
  for (const entry of entries) {
    const dir = join(outDir, entry.kind);
    await esbuild.build({
      ...options,
      entryPoints: [join(repoRoot, entry.source)],
      outdir: dir,
      logLevel: 'error',
    });
    const file = readdirSync(dir).find((f) => f.endsWith('.mjs') || f.endsWith('.js'));
    if (!file) throw new Error(`no bundle for ${entry.source}`);
    const path = join(dir, file);
    bundles.push({
      name: entry.name,
      kind: entry.kind,
      apiOperation: false,
      path,
      bytes: readFileSync(path).length,
      exportName: 'handler',
    });
  }
  return bundles;
}

/** A source module replaced by other code in a what-if bundle. */
export interface Stub {
  /** Matches the import specifier, e.g. /^#lib\/schemas\/common$/. */
  filter: RegExp;
  contents: string;
}

/**
 * Bundles `entry` with the serverless options but with some modules replaced: "what if this
 * import were gone" bundles, to measure what a suggested fix would save. Diagnostic only.
 */
export async function buildWhatIf(
  name: string,
  entry: string,
  stubs: Stub[],
  options: esbuild.BuildOptions,
  outDir: string,
): Promise<Bundle> {
  const dir = join(outDir, name.replace(/\W+/g, '-'));
  const plugin: esbuild.Plugin = {
    name: 'bench-stubs',
    setup(build) {
      stubs.forEach((stub, index) => {
        build.onResolve({ filter: stub.filter }, () => ({ path: `stub-${index}`, namespace: 'bench-stub' }));
      });
      build.onLoad({ filter: /.*/, namespace: 'bench-stub' }, (args) => ({
        contents: stubs[Number(args.path.slice('stub-'.length))]?.contents ?? '',
        loader: 'js',
        resolveDir: repoRoot,
      }));
    },
  };
  await esbuild.build({
    ...options,
    entryPoints: [join(repoRoot, entry)],
    outdir: dir,
    plugins: [plugin],
    logLevel: 'error',
  });
  const file = readdirSync(dir).find((f) => f.endsWith('.mjs') || f.endsWith('.js'));
  if (!file) throw new Error(`no bundle for ${name}`);
  const path = join(dir, file);
  return { name, kind: 'whatif', apiOperation: false, path, bytes: readFileSync(path).length, exportName: 'handler' };
}
