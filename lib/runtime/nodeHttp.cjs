/**
 * `node:http` for the bundles, handed over as the built-in module object itself rather than through
 * an ESM `import ... from 'node:http'`. On Node 24, such an import builds the module's ESM namespace.
 * That reads every export, including lazy ones that load undici, http2, tls and worker_threads, and
 * costs 50-90 ms of a cold start. The only user in the functions is @middy/util, for STATUS_CODES.
 * serverless.yml's esbuild `alias` points `node:http` here. A CommonJS module keeps every property
 * reachable, and esbuild's ESM interop copies property names without reading them.
 */
module.exports = process.getBuiltinModule('node:http');
