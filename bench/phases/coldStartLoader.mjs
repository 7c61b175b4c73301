// Spawned once per cold-start sample: `node coldStartLoader.mjs <bundle.mjs> <exportName> [bare]`.
// Plain JavaScript (no tsx) so that nothing but Node itself runs before the import.
// Prints one JSON line: the import time of the bundle until its handler export is in hand (wall
// and CPU time of this process, the latter barely affected by other processes competing for the
// cores), and the time since the process started (performance.now() counts from process start).
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const [bundle, exportName = 'handler', mode = 'lambda'] = process.argv.slice(2);
// Lambda's Node runtime interface client creates its Runtime API client, which requires node:http,
// before it loads the handler (src/index.mjs and src/RAPIDClient.js of
// aws/aws-lambda-nodejs-runtime-interface-client), so a handler's own import of node:http costs
// nothing there. Do the same before the clock starts, unless `bare` asks for a process with nothing
// loaded (on Node 24 that first import of node:http alone takes some 50 ms).
if (mode !== 'bare') createRequire(import.meta.url)('node:http');
const cpuBefore = process.cpuUsage();
const startedAt = performance.now();
const module = await import(pathToFileURL(bundle).href);
const handler = module[exportName];
const readyAt = performance.now();
const cpu = process.cpuUsage(cpuBefore);
if (typeof handler !== 'function') {
  console.error(`${bundle} has no function export '${exportName}'`);
  process.exit(3);
}
process.stdout.write(
  `${JSON.stringify({
    importMs: readyAt - startedAt,
    importCpuMs: (cpu.user + cpu.system) / 1000,
    readySinceProcessStartMs: readyAt,
    // CPU of the whole process until then: what a preloaded layer costs shows here, not in importCpuMs.
    readyCpuMs: (() => {
      const total = process.cpuUsage();
      return (total.user + total.system) / 1000;
    })(),
    rssBytes: process.memoryUsage.rss(),
  })}\n`,
);
