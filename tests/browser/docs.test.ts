/**
 * Opens the reference page in headless Chromium, on the API as `npm start` runs it
 * (serverless-offline with the bundled docs function), and checks that it lists every route.
 * The browser comes from npm (tests/support/browser.ts), or from `CHROMIUM_PATH` when it is set.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicRoutes, routes } from '#lib/http/routes';
import { launchTestBrowser, type TestBrowser } from '../support/browser.ts';
import { assertResponseMatchesContract } from '../support/contract.ts';
import { testMongoUri, uniqueDbName } from '../support/mongo.ts';
import { type OfflineApi, startOffline } from '../support/offline.ts';

const SCREENSHOT_PATH = fileURLToPath(new URL('./__screenshots__/docs.png', import.meta.url));

let offline: OfflineApi | undefined;
let testBrowser: TestBrowser | undefined;

beforeAll(async () => {
  // Both start at once; when one fails, the other is still kept, so that afterAll stops it.
  const [api, browser] = await Promise.allSettled([
    startOffline({
      MONGODB_URI: testMongoUri(),
      MONGODB_DATABASE: uniqueDbName('browser'),
    }),
    launchTestBrowser(),
  ]);
  if (api.status === 'fulfilled') offline = api.value;
  if (browser.status === 'fulfilled') testBrowser = browser.value;
  if (api.status === 'rejected') throw api.reason;
  if (browser.status === 'rejected') throw browser.reason;
}, 150_000);

afterAll(async () => {
  await testBrowser?.close();
  await offline?.stop();
});

/** Fetches a path from the running API and checks the answer against openapi.json. */
async function fetchChecked(path: string, headers: Record<string, string> = {}) {
  const base = offline?.baseUrl ?? '';
  const response = await fetch(`${base}${path}`, { headers });
  const text = await response.text();
  const isJson = /json/.test(response.headers.get('content-type') ?? '');
  const received = { status: response.status, headers: response.headers, body: isJson ? JSON.parse(text) : text };
  assertResponseMatchesContract({ method: 'GET', path }, received);
  return received;
}

describe('the docs page in a browser', () => {
  it('serves the document and the page files over HTTP, without a token and as declared', async () => {
    const document = await fetchChecked('/openapi.json');
    expect(document.status).toBe(200);
    expect((document.body as { openapi: string }).openapi).toBe('3.1.0');
    const script = await fetchChecked('/docs/swagger-ui-bundle.js', { 'accept-encoding': 'gzip' });
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.body).toContain('SwaggerUIBundle');
    const styles = await fetchChecked('/docs/swagger-ui.css');
    expect(styles.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect((await fetchChecked('/docs/unknown.js')).status).toBe(404);
  });

  it('lists every route of the route table, loading nothing from other origins', async () => {
    if (!testBrowser || !offline) throw new Error('setup failed');
    const base = new URL(offline.baseUrl);
    const page = await testBrowser.browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
    });
    page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));
    // The page must be self-contained: any request elsewhere (a CDN, the public validator) is refused and reported.
    await page.route('**/*', async (route) => {
      const url = new URL(route.request().url());
      if (url.origin === base.origin || url.protocol === 'data:') return route.continue();
      problems.push(`request to another origin: ${url.href}`);
      return route.abort();
    });

    const response = await page.goto(`${offline.baseUrl}/docs`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-type']).toBe('text/html; charset=utf-8');
    const expected = [...routes, ...publicRoutes].map((route) => `${route.method} ${route.path}`).sort();
    // Swagger UI renders one block per operation once it has loaded the document.
    await page
      .locator('.opblock')
      .nth(expected.length - 1)
      .waitFor({ timeout: 30_000 });
    const listed = await page
      .locator('.opblock-summary')
      .evaluateAll((summaries) =>
        summaries.map(
          (summary) =>
            `${summary.querySelector('.opblock-summary-method')?.textContent?.trim()} ${summary
              .querySelector('.opblock-summary-path')
              ?.getAttribute('data-path')}`,
        ),
      );
    expect(listed.sort()).toEqual(expected);
    await expect(page.locator('.info .title').textContent()).resolves.toContain('Order Management API');

    mkdirSync(fileURLToPath(new URL('./__screenshots__/', import.meta.url)), { recursive: true });
    await page.screenshot({ path: SCREENSHOT_PATH, fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('opens /docs/, with a trailing slash, as the same working page: a 308 to /docs', async () => {
    if (!testBrowser || !offline) throw new Error('setup failed');
    const redirect = await fetch(`${offline.baseUrl}/docs/`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('../docs');
    const page = await testBrowser.browser.newPage();
    const failed: string[] = [];
    page.on('response', (response) => {
      if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
    });
    const response = await page.goto(`${offline.baseUrl}/docs/`);
    expect(response?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe('/docs');
    // The page rendered: its scripts and style sheet were found, and Swagger UI drew the operations.
    await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
    await expect(page.locator('.info .title').textContent()).resolves.toContain('Order Management API');
    expect(failed).toEqual([]);
    await page.close();
  });
});
