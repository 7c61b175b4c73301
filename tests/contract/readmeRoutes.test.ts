import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { routes } from '#lib/http/routes';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe("README's endpoint table", () => {
  it('lists every route with its scope, and nothing else', () => {
    const rows = [...readme.matchAll(/^\| `(GET|POST|PUT|DELETE) (\/[^`]*)` +\| `([a-z]+:[a-z]+)` +\|/gm)].map(
      ([, method, path, scope]) => `${method} ${path} ${scope}`,
    );
    const expected = routes.map((route) => `${route.method} ${route.path} ${route.scope}`);
    expect(rows.sort()).toEqual(expected.sort());
  });
});
