import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { handler as openApiDocument } from '../../functions/docs/openapi.ts';
import { handler as apiDocs } from '../../functions/docs/page.ts';
import { apiGatewayEvent, invoke, lambdaContext } from '../support/apiEvents.ts';
import { assertResponseMatchesContract } from '../support/contract.ts';

// invoke() checks each answer against openapi.json, which describes these routes too.
// The Swagger UI files themselves are only loadable by the bundler: tests/browser fetches them.
describe('the documentation functions', () => {
  it('serve the committed OpenAPI document without a token', async () => {
    const response = await invoke(openApiDocument, { method: 'GET', route: '/openapi.json', auth: false });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.body).toEqual(JSON.parse(readFileSync(new URL('../../openapi.json', import.meta.url), 'utf8')));
  });

  it('serve the reference page without a token, loading only same-origin files', async () => {
    const response = await invoke(apiDocs, { method: 'GET', route: '/docs', auth: false });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['content-security-policy']).toContain("script-src 'self'");
    const page = String(response.body);
    expect(page).toContain('<script src="docs/swagger-ui-bundle.js"></script>');
    expect(page).not.toMatch(/https?:\/\//);
  });

  it('redirect /docs/ (API Gateway routes it to GET /docs, slash kept) to the page, relative to where it is mounted', async () => {
    for (const [query, location] of [
      [undefined, '../docs'],
      [{ x: '1' }, '../docs?x=1'],
    ] as const) {
      const event = {
        ...apiGatewayEvent({ method: 'GET', route: '/docs', ...(query && { query }) }),
        rawPath: '/docs/',
      };
      const result = await apiDocs(event, lambdaContext());
      const headers = (result.headers ?? {}) as Record<string, string>;
      expect(result.statusCode).toBe(308);
      expect(headers.location).toBe(location);
      expect(new URL(headers.location as string, 'https://api.example.test/v1/docs/').pathname).toBe('/v1/docs');
      assertResponseMatchesContract(
        { method: 'GET', path: '/docs', routeKey: 'GET /docs' },
        { status: result.statusCode ?? 0, headers, body: result.body },
      );
    }
  });

  it('serve the page initializer, which loads the document next to the page', async () => {
    const response = await invoke(apiDocs, {
      method: 'GET',
      route: '/docs/{asset}',
      pathParameters: { asset: 'swagger-initializer.js' },
      auth: false,
    });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(response.headers['cache-control']).toBe('public, max-age=3600');
    expect(String(response.body)).toContain("new URL('openapi.json', window.location.href)");
  });

  it('answer 404 problem+json for a file the page does not have', async () => {
    const response = await invoke(apiDocs, {
      method: 'GET',
      route: '/docs/{asset}',
      pathParameters: { asset: 'secrets.txt' },
      auth: false,
    });
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toBe('application/problem+json');
  });
});
