import { defineConfig } from 'vitest/config';

/**
 * The files that run a second time against the embedded server presenting MongoDB 7.0: the create
 * and move paths are chosen by the server's wire version (lib/db/createWrites.ts), so the rule under
 * concurrency, the service guard, idempotency, refusals, spans and the fault matrix are proven on
 * the path before 8.0 too. Only without MONGODB_URI: a real server is one version, and two copies of
 * a file against it would share their databases.
 */
export const BEFORE_8_0_FILES = [
  'tests/handlers/windowConcurrency.test.ts',
  'tests/handlers/createMessages.test.ts',
  'tests/handlers/orderMoves.test.ts',
  'tests/handlers/contention503.test.ts',
  'tests/handlers/idempotencyAndVersions.test.ts',
  'tests/handlers/tracing.test.ts',
  'tests/handlers/orders.test.ts',
  'tests/handlers/repositoryEffects.test.ts',
  'tests/faults/writes.test.ts',
  'tests/faults/missedWrites.test.ts',
  // One event per committed write: the create's event rides in the 8.0 bulkWrite, 7.0 inserts it.
  'tests/events/outbox.test.ts',
];

/**
 * The project that runs `include` a second time against an embedded server presenting 7.0 (here
 * and in vitest.stryker.config.ts). Its own setup, hence its own server: Vitest 5 runs the root's
 * globalSetup once, for the root project only, and inline projects do not inherit it (without it the
 * files ran a second time against the 8.0 server). Its own temp folder first, as the root's, since
 * a project's setup runs before the root's.
 */
export function againOn70(include: string[]) {
  return {
    extends: true,
    test: {
      name: 'again on 7.0',
      include,
      provide: { embeddedMongoRelease: '7.0' },
      globalSetup: ['tests/support/tempFolder.ts', 'tests/support/globalSetup.ts'],
    },
  };
}

export default defineConfig({
  test: {
    // The run's own temp folder first, so that everything after it (the embedded MongoDB, the workers,
    // what they spawn) writes there and the temp folder is as it was when the run ends.
    globalSetup: ['tests/support/tempFolder.ts', 'tests/support/globalSetup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: files run in parallel forks, each against its own database.
    pool: 'forks',
    // The last line of a run is a plain count that CI reads (tests/support/closingLine.ts).
    reporters: ['default', './tests/support/closingLine.ts'],
    // Request logs would drown the test output; tests that check logging spy on the logger.
    // Metric records (EMF JSON on stdout) would too: tests that check them turn them back on.
    // The AWS SDK warns on Node < 22 (below this project's engines); the suite also runs on Node 20 here.
    env: {
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    projects: [
      // The embedded server presents 8.0 unless EMBEDDED_MONGO_VERSION says otherwise (globalSetup).
      { extends: true, test: { name: 'all', include: ['tests/**/*.test.ts'] } },
      ...(process.env.MONGODB_URI ? [] : [againOn70(BEFORE_8_0_FILES)]),
    ],
  },
});
