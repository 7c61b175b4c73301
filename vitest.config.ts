import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/support/globalSetup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: files run in parallel forks, each against its own database.
    pool: 'forks',
    // Request logs would drown the test output; tests that check logging spy on the logger.
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT' },
  },
});
