/**
 * Writes openapi.json from the route table and the schemas (see lib/openapi/document.ts).
 * Run by `npm run openapi`; tests/contract/openapiFresh.test.ts fails when the committed
 * file differs from what this generates.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildOpenApiDocument } from '#lib/openapi/document';

const root = fileURLToPath(new URL('..', import.meta.url));
const target = `${root}openapi.json`;

writeFileSync(target, `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`);
// `npm run check` runs biome over every file: write the file the way biome formats it.
execFileSync(`${root}node_modules/.bin/biome`, ['format', '--write', target], { cwd: root, stdio: 'inherit' });
console.log(`wrote ${target}`);
