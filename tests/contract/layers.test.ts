import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const mongoRoot = fileURLToPath(new URL('../../dev/mongo', import.meta.url));

/**
 * dev/mongo's layers, top to bottom (dev/mongo/README.md explains each). A module may import its
 * own layer and the layers below it; the entry points at the top (index.ts, cli.ts, child.ts,
 * directly in dev/mongo) may import any layer and no layer may import them.
 */
const LAYERS = ['(entry)', 'wire', 'commands', 'query', 'storage', 'bson'];

/** The layer of a path relative to dev/mongo: its first folder, or the entry layer. */
function layerOf(path: string): string {
  const parts = path.split(sep);
  return parts.length === 1 ? '(entry)' : (parts[0] as string);
}

/**
 * Every module a file imports or re-exports, type-only ones included, read from its import and export
 * statements and dynamic imports. TypeScript 7's package has no compiler API any more (no
 * `preProcessFile`), and esbuild drops type-only imports, so this reads the source text: Biome keeps
 * every specifier a single-line string, and a false match inside a comment could only add a
 * violation, never hide one.
 */
const IMPORT_SPECIFIER =
  /\b(?:import|export)\s(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every relative import of a module. */
function importsOf(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  return [...source.matchAll(IMPORT_SPECIFIER)]
    .map((match) => match[1] ?? match[2] ?? '')
    .filter((name) => name.startsWith('.'));
}

/** Each import that climbs a layer or leaves dev/mongo, as `from -> to`. */
function layerViolations(): { checked: number; violations: string[] } {
  const files = readdirSync(mongoRoot, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.ts'));
  const violations: string[] = [];
  for (const from of files) {
    const rank = LAYERS.indexOf(layerOf(from));
    if (rank < 0) violations.push(`${from}: in no layer (add its folder to LAYERS)`);
    for (const spec of importsOf(join(mongoRoot, from))) {
      const to = relative(mongoRoot, join(mongoRoot, dirname(from), spec));
      if (to.startsWith('..')) violations.push(`${from} -> ${to} (outside dev/mongo)`);
      else if (LAYERS.indexOf(layerOf(to)) < rank) violations.push(`${from} -> ${to} (climbs to ${layerOf(to)})`);
    }
  }
  return { checked: files.length, violations };
}

it('dev/mongo modules import only their own layer, the layers below it, and nothing outside dev/mongo', () => {
  const { checked, violations } = layerViolations();
  expect(checked).toBeGreaterThan(30);
  expect(violations).toEqual([]);
});
