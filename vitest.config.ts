import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
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
  },
});
