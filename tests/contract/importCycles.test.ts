import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function typeScriptFiles(folder: string): string[] {
  return readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))
    .map((name) => join(root, folder, name));
}

/** Every cycle of imports among the project's own modules, as lists of paths. */
function cyclesOf(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'visiting');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'visiting') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

it('has no import cycles among the modules of lib, functions, dev and scripts', async () => {
  // esbuild resolves the imports as the bundles do, #lib/* and #dev/* included.
  const result = await build({
    entryPoints: ['lib', 'functions', 'dev', 'scripts'].flatMap(typeScriptFiles),
    bundle: true,
    write: false,
    metafile: true,
    outdir: join(root, '.esbuild', 'import-cycles'),
    platform: 'node',
    format: 'esm',
    packages: 'external',
    loader: { '.html': 'text', '.css': 'text' },
    logLevel: 'silent',
  });
  const graph = new Map<string, string[]>();
  for (const [path, input] of Object.entries(result.metafile.inputs)) {
    if (path.includes('node_modules')) continue;
    graph.set(
      path,
      input.imports
        .filter((entry) => !entry.external && !entry.path.includes('node_modules'))
        .map((entry) => entry.path),
    );
  }
  expect(graph.size).toBeGreaterThan(50);
  const cycles = cyclesOf(graph).map((cycle) => cycle.map((path) => relative(root, join(root, path))).join(' -> '));
  expect(cycles).toEqual([]);
});
