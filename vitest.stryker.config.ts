import { defineConfig } from 'vitest/config';

/**
 * The tests StrykerJS runs against each mutant (stryker.config.json): the unit tests, which need
 * no database, so a run over lib/domain stays within minutes. The suite's own config is unchanged.
 */
export default defineConfig({
  test: {
    include: ['tests/unit/**/*.test.ts'],
    // A freshness check, not a behaviour test: it renders the validators from the (instrumented)
    // sources and compares them byte for byte with the committed ones, so it fails on every mutant.
    exclude: ['tests/unit/generatedValidators.test.ts'],
    testTimeout: 30_000,
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
