import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { againOn70, BEFORE_8_0_FILES } from './vitest.config.ts';

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

/** The files that exclude list leaves out of every run (their mutants would each cost seconds). */
const EXCLUDED = [
  // A freshness check, not a behaviour test: it renders the validators from the (instrumented)
  // sources and compares them byte for byte with the committed ones, so it fails on every mutant.
  'tests/unit/generatedValidators.test.ts',
  'tests/handlers/contention503.test.ts',
  'tests/handlers/transactionBudget.test.ts',
  'tests/handlers/databaseOutage.test.ts',
  'tests/handlers/connectionLimit.test.ts',
];

/**
 * The files that run a second time against an embedded server presenting MongoDB 7.0: those of
 * vitest.config.ts, less the excluded and the fault files. lib/db takes the path before 8.0 there
 * (the locks' update with live guard stripes, the probe with the order's upsert, or the read of the
 * services and the stripes' marking), which the 8.0 run never reaches.
 */
const AGAIN_ON_7_0 = BEFORE_8_0_FILES.filter((file) => !EXCLUDED.includes(file) && !file.startsWith('tests/faults/'));

/**
 * The tests StrykerJS runs against each mutant (stryker.config.mjs): the unit tests, the handler
 * tests (against the embedded MongoDB, as in npm test), the event tests (lib/db writes each
 * change's event and reads them for the relay) and the journal's tests, without the handler files
 * that wait out the 7 s transaction budget or an outage on purpose, which would make every mutant
 * they cover cost seconds; then the 7.0 files again on a 7.0 server. The suite's own config
 * (vitest.config.ts) is unchanged but for listing repositoryEffects among its 7.0 files too.
 */
export default defineConfig({
  test: {
    exclude: EXCLUDED,
    globalSetup: ['tests/support/tempFolder.ts', 'tests/support/globalSetup.ts'],
    sequence: { sequencer: FastestFirst },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      {
        extends: true,
        test: {
          name: 'all',
          include: [
            'tests/unit/**/*.test.ts',
            'tests/handlers/**/*.test.ts',
            // The outbox and relay tests: lib/db writes each change's event and reads them for the relay.
            'tests/events/**/*.test.ts',
            // The journal's tests start servers of their own in the test worker, so a mutant is active there.
            'tests/mongo/journal*.test.ts',
          ],
        },
      },
      againOn70(AGAIN_ON_7_0),
    ],
  },
});
