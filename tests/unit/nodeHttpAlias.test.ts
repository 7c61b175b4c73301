import * as http from 'node:http';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);

// serverless.yml's esbuild alias sends every bundled `node:http` import here (lib/runtime/nodeHttp.cjs).
describe('the node:http the bundles get', () => {
  it('is the built-in module object itself, STATUS_CODES included', () => {
    const aliased = require('../../lib/runtime/nodeHttp.cjs') as typeof http;
    expect(aliased).toBe(require('node:http'));
    expect(aliased.STATUS_CODES[422]).toBe('Unprocessable Entity');
    expect(aliased.createServer).toBe(http.createServer);
  });
});
