import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const spectral = `${root}node_modules/@stoplight/spectral-cli/dist/index.js`;

describe('openapi.json under Spectral lint', () => {
  it("reports no problem of any severity with Spectral's spectral:oas ruleset (.spectral.yaml)", async () => {
    // --fail-severity=hint: exit non-zero on anything, so a warning cannot pass unseen.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [spectral, 'lint', 'openapi.json', '--ruleset', '.spectral.yaml', '--format', 'json', '--fail-severity', 'hint'],
      { cwd: root, env: { ...process.env, SCARF_ANALYTICS: 'false', DO_NOT_TRACK: '1' }, timeout: 60_000 },
    ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? String(error) }));
    // Spectral follows its JSON with a summary line; the report is the array before it.
    const report = JSON.parse(stdout.slice(0, stdout.lastIndexOf(']') + 1)) as { code: string; message: string }[];
    expect(report.map(({ code, message }) => `${code}: ${message}`)).toEqual([]);
  }, 90_000);
});
