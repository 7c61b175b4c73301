/**
 * A local Serverless Framework plugin for `serverless offline` only: it redirects `/docs/` to
 * `/docs` (see onRequest), and makes the answers that
 * serverless-offline's HTTP layer (hapi) gives itself, before any handler runs, look like this
 * API's answers. Without it a path with bad percent-encoding (`/orders/%ZZ`), a
 * `content-type: json` header or a bare OPTIONS gets hapi's `{"statusCode":400,"error":...}`
 * JSON, and every 204 gets `content-type: application/json`, which no handler sent.
 *
 * - hapi errors (4xx) become application/problem+json with the API's common headers;
 * - a 204 loses the content type serverless-offline adds to every handler response.
 *
 * It patches the hapi server class serverless-offline uses (the same module instance) to add one
 * onPreResponse extension, registered after serverless-offline's own (CORS preflights keep their
 * 204). CommonJS because the framework loads local plugins with require(). Inert for every other
 * command (package, deploy): the deployed API never goes through hapi.
 */
'use strict';

const COMMON_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

/** hapi's answer for a request no handler saw, as problem details. */
function problemFromBoom(request, output) {
  const status = output.statusCode;
  const message = output.payload?.message ?? '';
  const detail =
    message && message !== output.payload?.error
      ? `${message} (${request.method.toUpperCase()} ${request.path}, refused before reaching the API)`
      : `${request.method.toUpperCase()} ${request.path} cannot be read (for example, bad percent-encoding in the path)`;
  return { type: 'about:blank', title: output.payload?.error ?? 'Error', status, detail };
}

function onPreResponse(request, h) {
  const response = request.response;
  if (response.isBoom) {
    const status = response.output.statusCode;
    if (status < 400 || status >= 500) return h.continue;
    const answer = h
      .response(JSON.stringify(problemFromBoom(request, response.output)))
      .code(status)
      .type('application/problem+json');
    for (const [name, value] of Object.entries({ ...response.output.headers, ...COMMON_HEADERS })) {
      if (name.toLowerCase() !== 'content-type') answer.header(name, value);
    }
    return answer;
  }
  if (response.statusCode === 204) {
    delete response.headers['content-type'];
    response.type(undefined);
  }
  return h.continue;
}

/**
 * `/docs/` is redirected to `/docs`, as the docs function does on AWS (functions/docs/page.ts):
 * serverless-offline tells hapi to strip a trailing slash before routing, so the function only
 * ever sees `/docs` here and would answer the page, whose relative links then miss.
 */
function onRequest(request, h) {
  const [path, query] = (request.raw.req.url ?? '').split(/\?(.*)/s);
  if (request.method !== 'get' || path !== '/docs/') return h.continue;
  return h
    .response()
    .code(308)
    .header('location', `../docs${query ? `?${query}` : ''}`)
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .takeover();
}

let patched = false;

/** Adds the extension to every hapi server started in this process from now on. */
function patchHapi() {
  if (patched) return;
  patched = true;
  const { server } = require('@hapi/hapi');
  const prototype = Object.getPrototypeOf(server());
  const start = prototype.start;
  prototype.start = function startWithApiAnswers(...args) {
    this.ext('onPreResponse', onPreResponse);
    this.ext('onRequest', onRequest);
    return start.apply(this, args);
  };
}

class OfflineAnswers {
  constructor(serverless) {
    if (serverless.processedInput?.commands?.[0] === 'offline') patchHapi();
  }
}

module.exports = OfflineAnswers;
