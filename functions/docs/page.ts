import { gzipSync } from 'node:zlib';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { correlationIdFor } from '#lib/http/correlation';
import { COMMON_HEADERS } from '#lib/http/responses';
import { DOCS_ASSET_NAMES, type DocsAssetName } from '#lib/schemas/docsAssets';
import { docsHeaders, docsInternalError, docsNotFound } from './docsResponses.ts';

/**
 * The reference page. Its URLs are relative (`docs/…`, `openapi.json`), so it works wherever
 * the API is mounted, and every file comes from this function: no CDN at run time.
 */
const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Order Management API reference</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/swagger-initializer.js"></script>
</body>
</html>
`;

/** Starts Swagger UI on the document next to the page. A file, not inline, so the CSP can forbid inline scripts. */
const INITIALIZER_JS = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: new URL('openapi.json', window.location.href).href,
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    docExpansion: 'list',
    displayRequestDuration: true,
    // No calls to the public validator service: the page talks to this API only.
    validatorUrl: null,
  });
});
`;

/**
 * Swagger UI sets inline styles and draws data: SVGs; everything else comes from this origin.
 * Scripts are same-origin files only.
 */
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Swagger UI's files change only with a deployment: browsers may keep them for an hour. */
const ASSET_CACHE_CONTROL = 'public, max-age=3600';

const JAVASCRIPT = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** Gzipped copies, made once per container: the script shrinks from 1.7 MB to about 0.5 MB. */
const gzipped = new Map<DocsAssetName, string>();

function isAssetName(name: string): name is DocsAssetName {
  return (DOCS_ASSET_NAMES as readonly string[]).includes(name);
}

async function assetText(name: DocsAssetName): Promise<string> {
  if (name === 'swagger-initializer.js') return INITIALIZER_JS;
  // Loaded on first use: only the bundler can read Swagger UI's files (see swaggerUiAssets.ts).
  const { swaggerUiFiles } = await import('./swaggerUiAssets.ts');
  return swaggerUiFiles[name];
}

async function assetResponse(
  name: DocsAssetName,
  acceptEncoding: string | undefined,
): Promise<APIGatewayProxyStructuredResultV2> {
  const text = await assetText(name);
  const headers = {
    ...docsHeaders(name.endsWith('.css') ? CSS : JAVASCRIPT, ASSET_CACHE_CONTROL),
    vary: 'accept-encoding',
  };
  if (!/\bgzip\b/i.test(acceptEncoding ?? '') || text.length < 10_000) return { statusCode: 200, headers, body: text };
  let body = gzipped.get(name);
  if (body === undefined) {
    body = gzipSync(text).toString('base64');
    gzipped.set(name, body);
  }
  return { statusCode: 200, headers: { ...headers, 'content-encoding': 'gzip' }, body, isBase64Encoded: true };
}

/**
 * The answer to `/docs/`: API Gateway routes it to `GET /docs` with the slash kept in `rawPath`,
 * and from there the page's relative links would point under `/docs/docs/`. A relative Location
 * (`../docs`) leads to the page wherever the API is mounted. (serverless-offline strips the slash
 * before routing, so locally dev/offlineAnswers.cjs answers the same redirect.)
 */
function redirectToPage(rawQueryString: string | undefined): APIGatewayProxyStructuredResultV2 {
  const location = `../docs${rawQueryString ? `?${rawQueryString}` : ''}`;
  return { statusCode: 308, headers: { ...COMMON_HEADERS, location } };
}

/** GET /docs (the reference page, and `/docs/` redirected to it) and GET /docs/{asset} (its files). Public. */
export const handler = async (
  event: APIGatewayProxyEventV2,
  context?: Context,
): Promise<APIGatewayProxyStructuredResultV2> => {
  try {
    const asset = event.pathParameters?.asset;
    if (asset === undefined) {
      if (event.rawPath?.endsWith('/')) return redirectToPage(event.rawQueryString);
      return {
        statusCode: 200,
        headers: { ...docsHeaders('text/html; charset=utf-8', 'no-store'), 'content-security-policy': PAGE_CSP },
        body: PAGE_HTML,
      };
    }
    if (!isAssetName(asset)) return docsNotFound(`The reference page has no file named '${asset}'`);
    return await assetResponse(asset, event.headers?.['accept-encoding']);
  } catch (error) {
    return docsInternalError(error, correlationIdFor(event, context));
  }
};
