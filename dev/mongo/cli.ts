/**
 * `npm run db -- [--port 27017] [--host 127.0.0.1] [--dbpath .data/mongo] [--repair] [--maxConns N]
 * [--setParameter enableTestCommands=1] [--version 8.0|7.0] [--journalCompaction <minDeadBytes>,<deadFraction>]`:
 * runs the embedded server until SIGINT/SIGTERM and prints one line with its URI. `--journalCompaction`
 * (embedded only, no mongod flag) sets when the journal is compacted while running (default
 * 16777216,0.5; crash tests use small values so that kills land mid-compaction).
 */
import { parseArgs } from 'node:util';
import { isServerRelease, SERVER_RELEASES } from './commands/server-version.ts';
import { startEmbeddedMongo } from './index.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '27017' },
    host: { type: 'string', default: '127.0.0.1' },
    dbpath: { type: 'string' },
    repair: { type: 'boolean', default: false },
    // mongod's flag for net.maxIncomingConnections.
    maxConns: { type: 'string' },
    // mongod's --setParameter name=value; only enableTestCommands (configureFailPoint) is known here.
    setParameter: { type: 'string', multiple: true },
    journalCompaction: { type: 'string' },
    // The MongoDB release to present (8.0 by default); 7.0 keeps clients' 7.0 path testable.
    version: { type: 'string' },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid --port ${values.port}`);
  process.exit(2);
}

const maxConns = values.maxConns === undefined ? undefined : Number(values.maxConns);
if (maxConns !== undefined && (!Number.isInteger(maxConns) || maxConns < 1)) {
  console.error(`invalid --maxConns ${values.maxConns}`);
  process.exit(2);
}

let enableTestCommands = false;
for (const assignment of values.setParameter ?? []) {
  const [name, value] = assignment.split('=', 2);
  if (name !== 'enableTestCommands' || !['1', 'true', '0', 'false'].includes(value ?? '')) {
    console.error(
      `unsupported --setParameter ${assignment} (only enableTestCommands=1|true|0|false is known to the embedded server)`,
    );
    process.exit(2);
  }
  enableTestCommands = value === '1' || value === 'true';
}

let compaction: { minDeadBytes: number; deadFraction: number } | undefined;
if (values.journalCompaction !== undefined) {
  const [minDeadBytes, deadFraction] = values.journalCompaction.split(',').map(Number);
  if (
    !Number.isInteger(minDeadBytes) ||
    (minDeadBytes as number) < 0 ||
    !(typeof deadFraction === 'number' && deadFraction >= 0 && deadFraction <= 1)
  ) {
    console.error(`invalid --journalCompaction ${values.journalCompaction} (expected <minDeadBytes>,<deadFraction>)`);
    process.exit(2);
  }
  compaction = { minDeadBytes: minDeadBytes as number, deadFraction };
}

const version = values.version;
if (version !== undefined && !isServerRelease(version)) {
  console.error(`invalid --version ${version} (one of ${SERVER_RELEASES.join(', ')})`);
  process.exit(2);
}

if (values.repair && !values.dbpath) {
  console.error('--repair needs --dbpath');
  process.exit(2);
}

let server: Awaited<ReturnType<typeof startEmbeddedMongo>>;
try {
  server = await startEmbeddedMongo({
    port,
    host: values.host,
    ...(values.dbpath ? { dbPath: values.dbpath } : {}),
    ...(values.repair ? { repair: true } : {}),
    ...(maxConns === undefined ? {} : { maxIncomingConnections: maxConns }),
    ...(enableTestCommands ? { enableTestCommands: true } : {}),
    ...(compaction ? { compaction } : {}),
    ...(version === undefined ? {} : { version }),
  });
} catch (err) {
  // A damaged journal (or a busy port) is a clear one-line refusal, not a stack trace.
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
console.log(
  `embedded MongoDB ${server.version} listening: ${server.uri}${values.dbpath ? ` (data in ${values.dbpath})` : ' (in memory)'}${enableTestCommands ? ', test commands enabled' : ''}`,
);

let stopping = false;
const shutdown = (): void => {
  if (stopping) return;
  stopping = true;
  server.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
