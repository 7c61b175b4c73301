// StrykerJS (npm run test:mutation): mutates lib/domain and runs the unit tests against each
// mutant. Not part of npm test. README "Mutation testing" says how long it takes and what it found.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.stryker.config.ts' },
  coverageAnalysis: 'perTest',
  mutate: ['lib/domain/**/*.ts'],
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
