/**
 * `npm run test:spec`: runs MongoDB's unified-format specification tests (read from
 * ../shared/mongodb-spec-tests, never copied here: their licence forbids it) through the official
 * driver against an embedded server started here, prints run/passed/failed/skipped per folder,
 * writes tests/mongo/spec/RESULTS.md, and fails on any unexpected failure or unexpected pass
 * (see expected-failures.ts).
 *
 * Options: `--dir <path>` (spec folder), `--filter <substring>` (only matching files, no table
 * written), `--server-version 8.0|7.0` (the release the embedded server presents; default 8.0, the
 * one RESULTS.md and the expected failures are for: another prints its figures and writes nothing),
 * `--verbose` (print every failure).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import {
  DEFAULT_RELEASE,
  isServerRelease,
  SERVER_RELEASES,
  type ServerRelease,
} from '../../../dev/mongo/commands/server-version.ts';
import { startEmbeddedMongo } from '../../../dev/mongo/index.ts';
import { driverDeviations } from './driver-deviations.ts';
import { expectedFailures } from './expected-failures.ts';
import { runFile, type ServerClaims, type TestOutcome } from './runner.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const args = process.argv.slice(2);
const argValue = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const specDir = resolve(argValue('--dir') ?? join(root, '../shared/mongodb-spec-tests'));
const filter = argValue('--filter');
const requestedVersion = argValue('--server-version') ?? DEFAULT_RELEASE;
if (!isServerRelease(requestedVersion)) {
  console.error(`--server-version ${requestedVersion}: one of ${SERVER_RELEASES.join(', ')}`);
  process.exit(2);
}
const serverVersion: ServerRelease = requestedVersion;
/** Only some of the tests, or another release than the lists are kept for: no files written, no stale-entry check. */
const partialRun = filter !== undefined || serverVersion !== DEFAULT_RELEASE;
const verbose = args.includes('--verbose');
const TEST_TIMEOUT_MS = 10_000;
const README_START = '<!-- spec-results:start (written by npm run test:spec) -->';
const README_END = '<!-- spec-results:end -->';

function listFiles(): { folder: string; file: string; path: string }[] {
  const out: { folder: string; file: string; path: string }[] = [];
  for (const folder of readdirSync(specDir, { withFileTypes: true })) {
    if (!folder.isDirectory()) continue;
    for (const f of readdirSync(join(specDir, folder.name)).sort()) {
      if (!f.endsWith('.json')) continue;
      const file = `${folder.name}/${f}`;
      if (filter && !file.includes(filter)) continue;
      out.push({ folder: folder.name, file, path: join(specDir, folder.name, f) });
    }
  }
  return out.sort((a, b) => a.file.localeCompare(b.file));
}

async function claimsOf(client: MongoClient): Promise<ServerClaims> {
  const admin = client.db('admin');
  const build = await admin.command({ buildInfo: 1 });
  const hello = await admin.command({ hello: 1 });
  const parameters = await admin.command({ getParameter: '*' });
  return {
    version: String(build.version)
      .split('.')
      .map((x) => Number.parseInt(x, 10) || 0),
    topology: hello.setName ? 'replicaset' : hello.msg === 'isdbgrid' ? 'sharded' : 'single',
    parameters,
  };
}

/** A Markdown table with padded columns (the layout Biome's formatter gives it); `right`: right-aligned columns. */
function markdownTable(header: string[], rows: string[][], right: boolean[]): string[] {
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const cells = (r: string[]): string =>
    `| ${r.map((c, i) => (right[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (right[i] ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [cells(header), rule, ...rows.map(cells)];
}

function testId(o: TestOutcome): string {
  return `${o.file}: ${o.test}`;
}

async function main(): Promise<void> {
  const serverLog: string[] = [];
  // Test commands on, as MongoDB's own spec runs use mongod: the failPoint operations need them.
  const server = await startEmbeddedMongo({
    log: (line) => serverLog.push(line),
    enableTestCommands: true,
    version: serverVersion,
  });
  const internal = new MongoClient(server.uri, { serverSelectionTimeoutMS: 5000 });
  const started = Date.now();
  const outcomes: TestOutcome[] = [];
  let presented = '';
  try {
    const claims = await claimsOf(internal);
    presented = claims.version.join('.');
    for (const f of listFiles()) {
      outcomes.push(
        ...(await runFile(
          f.folder,
          f.file,
          readFileSync(f.path, 'utf8'),
          server.uri,
          internal,
          claims,
          TEST_TIMEOUT_MS,
          driverDeviations,
        )),
      );
    }
  } finally {
    await internal.close();
    await server.stop();
  }
  const seconds = (Date.now() - started) / 1000;

  // Per folder counts.
  const folders = new Map<string, { run: number; passed: number; failed: number; skipped: number }>();
  for (const o of outcomes) {
    const f = folders.get(o.folder) ?? { run: 0, passed: 0, failed: 0, skipped: 0 };
    if (o.status === 'skipped') f.skipped++;
    else {
      f.run++;
      f[o.status]++;
    }
    folders.set(o.folder, f);
  }
  const total = { run: 0, passed: 0, failed: 0, skipped: 0 };
  const rows = [...folders.entries()].sort(([a], [b]) => a.localeCompare(b));
  for (const [, f] of rows) for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += f[k];
  const line = (name: string, f: typeof total): string[] => [
    name,
    String(f.run),
    String(f.passed),
    String(f.failed),
    String(f.skipped),
  ];
  const table = markdownTable(
    ['folder', 'run', 'passed', 'failed', 'skipped'],
    [...rows.map(([n, f]) => line(n, f)), line('**total**', total)],
    [false, true, true, true, true],
  );
  const skipReasons = new Map<string, number>();
  for (const o of outcomes) {
    if (o.status !== 'skipped') continue;
    const reason = o.detail.startsWith('skipReason') ? 'skipReason in the spec file' : o.detail;
    skipReasons.set(reason, (skipReasons.get(reason) ?? 0) + 1);
  }
  console.log(table.join('\n'));
  console.log(`\n${outcomes.length} tests in ${seconds.toFixed(1)} s`);

  // Expected failures: both directions must hold.
  const expected = new Map<string, string>();
  for (const group of expectedFailures) for (const t of group.tests) expected.set(`${group.file}: ${t}`, group.reason);
  const ran = new Map(outcomes.map((o) => [testId(o), o]));
  const unexpectedFailures = outcomes.filter((o) => o.status === 'failed' && !expected.has(testId(o)));
  const unexpectedPasses = outcomes.filter((o) => o.status === 'passed' && expected.has(testId(o)));
  const stale = partialRun
    ? []
    : [...expected.keys()].filter((id) => !ran.has(id) || ran.get(id)?.status === 'skipped');
  for (const o of outcomes) {
    if (o.status === 'failed' && (verbose || !expected.has(testId(o))))
      console.log(`${expected.has(testId(o)) ? 'expected ' : ''}FAIL ${testId(o)}\n    ${o.detail.slice(0, 600)}`);
  }
  for (const o of unexpectedPasses) console.log(`UNEXPECTED PASS ${testId(o)} (listed: ${expected.get(testId(o))})`);
  for (const id of stale) console.log(`LISTED BUT NOT RUN ${id}`);
  // Driver deviations: each listed test must run, pass, and have needed its relaxation.
  const deviationIds = new Set(driverDeviations.flatMap((d) => d.tests.map((t) => `${d.file}: ${t}`)));
  const relaxedPasses = outcomes.filter((o) => o.status === 'passed' && o.relaxed);
  const staleDeviations = [...deviationIds].filter((id) => {
    const o = ran.get(id);
    return partialRun ? o !== undefined && o.status === 'passed' && !o.relaxed : !(o?.status === 'passed' && o.relaxed);
  });
  for (const id of staleDeviations) console.log(`LISTED DRIVER DEVIATION NOT NEEDED OR NOT PASSING ${id}`);

  const internalErrors = serverLog.filter((l) => l.includes('failed:')).length;
  console.log(`server log: ${serverLog.length} lines, ${internalErrors} internal errors`);

  if (!partialRun) {
    const reasons = new Map<string, number>();
    for (const o of outcomes) {
      const r = o.status === 'failed' ? expected.get(testId(o)) : undefined;
      if (r) reasons.set(r, (reasons.get(r) ?? 0) + 1);
    }
    const md = [
      '# MongoDB specification tests against the embedded server',
      '',
      'Generated by `npm run test:spec` (tests/mongo/spec/run.ts) from the unified-format files in',
      '`../shared/mongodb-spec-tests` (not part of this repository). "run" counts the applicable tests.',
      `The embedded server presented MongoDB ${presented} (\`--server-version 7.0\` runs them against it as 7.0).`,
      '',
      ...table,
      '',
      `Pass rate of the applicable tests: ${((100 * total.passed) / Math.max(1, total.run)).toFixed(1)} %.`,
      '',
      `## Passed with a listed driver deviation (tests/mongo/spec/driver-deviations.ts): ${relaxedPasses.length}`,
      '',
      'The Node driver sends these fields differently from what the test expects; only those fields of the',
      'sent command are left out of the comparison, and everything the server answers is still checked.',
      '',
      ...markdownTable(
        ['reason', 'tests'],
        driverDeviations
          .map((d) => d.reason)
          .filter((r, i, all) => all.indexOf(r) === i)
          .map((r) => [
            r,
            String(
              relaxedPasses.filter((o) =>
                driverDeviations.some((d) => d.reason === r && d.file === o.file && d.tests.includes(o.test)),
              ).length,
            ),
          ]),
        [false, true],
      ),
      '',
      '## Failures, by listed reason (tests/mongo/spec/expected-failures.ts)',
      '',
      ...markdownTable(
        ['reason', 'tests'],
        [...reasons.entries()].sort((a, b) => b[1] - a[1]).map(([r, n]) => [r, String(n)]),
        [false, true],
      ),
      '',
      '## Skips, by reason',
      '',
      ...markdownTable(
        ['reason', 'tests'],
        [...skipReasons.entries()].sort((a, b) => b[1] - a[1]).map(([r, n]) => [r, String(n)]),
        [false, true],
      ),
      '',
    ];
    writeFileSync(join(here, 'RESULTS.md'), md.join('\n'));
    // dev/mongo/README.md shows the same figures between its markers, rewritten here so they never drift.
    const readmePath = join(root, 'dev/mongo/README.md');
    const readme = readFileSync(readmePath, 'utf8');
    const start = readme.indexOf(README_START);
    const end = readme.indexOf(README_END);
    if (start < 0 || end < start) throw new Error(`${readmePath} lacks the ${README_START} … ${README_END} markers`);
    const failedBy = (prefix: string): number =>
      [...reasons.entries()].filter(([r]) => r.startsWith(prefix)).reduce((n, [, k]) => n + k, 0);
    const summary = [
      README_START,
      ...table,
      '',
      `${total.passed} of ${total.run} applicable tests pass (${((100 * total.passed) / Math.max(1, total.run)).toFixed(1)} %), ${relaxedPasses.length} of them with a listed Node-driver deviation (only the driver-sent fields it names are not compared). Of the ${total.failed} failures, ${failedBy('refused on purpose')} are refusals listed below (MongoDB-shaped errors), ${failedBy('driver')} are the Node driver's own deviations from the specs, and ${failedBy('topology')} need a secondary. [RESULTS.md](../../tests/mongo/spec/RESULTS.md) has the reasons and the skips.`,
      '',
    ];
    writeFileSync(readmePath, readme.slice(0, start) + summary.join('\n') + readme.slice(end));
  }
  const bad = unexpectedFailures.length + unexpectedPasses.length + stale.length + staleDeviations.length;
  console.log(
    `\nMongoDB ${presented}: ${total.passed}/${total.run} applicable passed (${relaxedPasses.length} of them with a listed driver deviation), ${total.failed} failed (${total.failed - unexpectedFailures.length} expected), ${total.skipped} skipped; ${unexpectedFailures.length} unexpected failures, ${unexpectedPasses.length} unexpected passes, ${stale.length + staleDeviations.length} stale entries`,
  );
  process.exitCode = bad > 0 ? 1 : 0;
}

await main();
