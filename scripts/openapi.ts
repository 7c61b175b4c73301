/**
 * Writes openapi.json from the route table and the schemas (see lib/openapi/document.ts), and
 * events.json, the events' schemas (lib/openapi/eventsDocument.ts). Run by `npm run openapi`;
 * tests/contract/openapiFresh.test.ts and eventsFresh.test.ts fail when a committed file differs
 * from what this generates.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildOpenApiDocument } from '#lib/openapi/document';
import { buildEventsDocument } from '#lib/openapi/eventsDocument';

const root = fileURLToPath(new URL('..', import.meta.url));
const documents = { 'openapi.json': buildOpenApiDocument(), 'events.json': buildEventsDocument() };

for (const [name, document] of Object.entries(documents)) {
  const target = `${root}${name}`;
  writeFileSync(target, `${JSON.stringify(document, null, 2)}\n`);
  // `npm run check` runs biome over every file: write the file the way biome formats it.
  execFileSync(`${root}node_modules/.bin/biome`, ['format', '--write', target], { cwd: root, stdio: 'inherit' });
  console.log(`wrote ${target}`);
}
