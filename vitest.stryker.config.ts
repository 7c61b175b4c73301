import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Test files that start no server: a mutant they kill costs milliseconds. */
const FAST_FILES = /\/tests\/(unit\/|mongo\/journal(Format|Open)\.test\.ts$)/;

/**
 * Runs the fastest test files first. Stryker stops a mutant's run at its first failing test, and
 * Vitest's own order (longest first) would start every journal mutant with the server-starting
 * journal tests even when a file-format test kills it in milliseconds.
 */
class FastestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (spec: TestSpecification): number => (FAST_FILES.test(spec.moduleId) ? 0 : 1);
    const duration = (spec: TestSpecification): number =>
      this.ctx.cache.getTestSpecificationResult(spec)?.duration ?? Number.MAX_SAFE_INTEGER;
    return [...files].sort((a, b) => rank(a) - rank(b) || duration(a) - duration(b));
  }
}

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
    sequence: { sequencer: FastestFirst },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
