import { defineConfig } from 'vitest/config';

/**
 * The tests StrykerJS runs against each mutant (stryker.config.mjs): the unit tests, the
 * handler tests (against the embedded MongoDB, as in npm test) and the journal's tests, without the handler files that
 * wait out the 7 s transaction budget or an outage on purpose, which would make every mutant they
 * cover cost seconds. The suite's own config (vitest.config.ts) is unchanged.
 */
export default defineConfig({
  test: {
    include: [
      'tests/unit/**/*.test.ts',
      'tests/handlers/**/*.test.ts',
      // The journal's tests start servers of their own in the test worker, so a mutant is active there.
      'tests/mongo/journal*.test.ts',
    ],
    exclude: [
      // A freshness check, not a behaviour test: it renders the validators from the (instrumented)
      // sources and compares them byte for byte with the committed ones, so it fails on every mutant.
      'tests/unit/generatedValidators.test.ts',
      'tests/handlers/contention503.test.ts',
      'tests/handlers/transactionBudget.test.ts',
      'tests/handlers/databaseOutage.test.ts',
      'tests/handlers/connectionLimit.test.ts',
    ],
    globalSetup: ['tests/support/tempFolder.ts', 'tests/support/globalSetup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
