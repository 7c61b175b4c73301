// StrykerJS (npm run test:mutation): mutates lib/domain, lib/db, lib/http/middleware and the embedded
// server's journal and durability modules, and runs the tests that cover each mutant against it (perTest
// coverage; Vitest's related-file selection picks the test files). Not part of npm test. README
// "Mutation testing" says how long each area takes and what it found. One area at a time:
//   npm run test:mutation -- --mutate 'lib/http/middleware/**/*.ts'
// (results of the areas not named are kept from the incremental file, so the report stays whole).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  // Forks, not the runner's default worker threads: a thread cannot change its time zone through
  // process.env.TZ, which tests/unit/requestLog.test.ts does (it fails in the initial run otherwise).
  vitest: { configFile: 'vitest.stryker.config.ts', pool: 'forks' },
  coverageAnalysis: 'perTest',
  mutate: [
    'lib/domain/**/*.ts',
    'lib/db/**/*.ts',
    'lib/http/middleware/**/*.ts',
    // The embedded server's durability: the journal (group commit, fsyncs, compaction, repair), its
    // file format (checksummed records, streamed reader) and the reply that waits for the disk.
    // Only tests that start a server of their own (in the test worker) can kill these: the suite's
    // shared server runs in Vitest's main process, where no mutant is active.
    'dev/mongo/storage/journal.ts',
    'dev/mongo/storage/journal-format.ts',
    'dev/mongo/wire/durability.ts',
  ],
  // Two cores shared with other work: one mutant at a time by default (--concurrency 2 when free).
  concurrency: 1,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  // A rerun after a small change tests only the mutants that change touched.
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  timeoutMS: 10_000,
  // Vitest strips types without checking them, so no @ts-nocheck is needed (and it would change
  // the generated validators that tests/unit/generatedValidators.test.ts compares byte for byte).
  disableTypeChecks: false,
  // TypeScript 7's npm package has no JavaScript compiler API, which Stryker's tsconfig rewriting
  // (needed only for `extends`/`references` outside the project, which we have none of) and its
  // TypeScript checker use: point the rewriting at no file. Hence also no typescript-checker.
  tsconfigFile: 'no-tsconfig-for-stryker.json',
};
