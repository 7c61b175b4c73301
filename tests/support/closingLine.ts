import type { Reporter, SerializedError, TestModule } from 'vitest/node';

/**
 * Ends every run with one plain line, `vitest: N passed, N failed, N skipped`, alone on its line and
 * without colours, which CI reads to tell a run that tested something from one that tested nothing
 * (Vitest's own summary is coloured and not a format CI knows). Beyond failed tests, a test file that
 * failed without a failed test (it did not load, or a `beforeAll`/`afterAll` threw: Vitest then
 * marks its tests skipped or leaves them passed) and each unhandled error count as one failure, as
 * they fail the run. Skipped includes todo tests.
 */
export default class ClosingLineReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    for (const testModule of testModules) {
      let failedHere = 0;
      for (const test of testModule.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'failed') failedHere += 1;
        else skipped += 1;
      }
      failed += failedHere;
      if (failedHere === 0 && testModule.state() === 'failed') failed += 1;
    }
    process.stdout.write(`\nvitest: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
