import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { basename } from 'node:path';
import { expect, it } from 'vitest';
import { RUN_TEMP_FOLDER_PREFIX } from '../support/tempFolder.ts';

// What keeps `npm test` from leaving files in the temp folder: every test file, and every process it
// starts, writes temp files into the run's own folder, which the run removes when it ends.
it('gives test files and the processes they start the run’s own temp folder', () => {
  const folder = tmpdir();
  expect(basename(folder).startsWith(RUN_TEMP_FOLDER_PREFIX)).toBe(true);
  const childTmpdir = execFileSync(process.execPath, ['-p', 'require("node:os").tmpdir()'], { encoding: 'utf8' });
  expect(childTmpdir.trim()).toBe(folder);
});
