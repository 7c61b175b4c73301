import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The prefix of the temp folder a test run owns (tests/contract/tempFolder.test.ts checks it is in use). */
export const RUN_TEMP_FOLDER_PREFIX = 'order-api-test-run-';

const TEMP_VARIABLES = ['TMPDIR', 'TMP', 'TEMP'] as const;

/**
 * Gives the whole test run one temp folder and removes it when the run ends, so that `npm test` leaves
 * the temp folder as it found it. It runs before the test workers start, and they and every process
 * the tests spawn (serverless, esbuild, tsx, Chromium, Prism, Redocly) inherit the variables, so
 * `os.tmpdir()` is this folder everywhere: the caches tools keep there (tsx's `tsx-<uid>`, Node's
 * `node-compile-cache`) and the work folders a test cannot remove itself (a `serverless package`
 * leaves 14) go with it. Tests still remove what they create; this catches what tools leave behind.
 */
export default function setup(): () => Promise<void> {
  const previous = TEMP_VARIABLES.map((name) => [name, process.env[name]] as const);
  const folder = mkdtempSync(join(tmpdir(), RUN_TEMP_FOLDER_PREFIX));
  // TMPDIR on Linux and macOS, TEMP and TMP on Windows (Node's os.tmpdir()).
  for (const name of TEMP_VARIABLES) process.env[name] = folder;
  return async () => {
    for (const [name, value] of previous) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await rm(folder, { recursive: true, force: true, maxRetries: 5 });
  };
}
