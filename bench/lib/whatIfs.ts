/**
 * Diagnostic "what if" bundles (getOrder, notFound), each with one suggested fix applied by replacing a
 * module at bundle time (the sources stay untouched). They show what a fix would save; they
 * are not targets and never replace the measured functions.
 */
import type { Stub } from './build.ts';

/** The request log written with JSON.stringify and one write instead of Powertools Logger. */
export const plainJsonLogger: Stub = {
  filter: /^@aws-lambda-powertools\/logger$/,
  contents: `
const service = process.env.POWERTOOLS_SERVICE_NAME || 'service_undefined';
function write(level, message, attributes) {
  process.stdout.write(JSON.stringify({ level, message, timestamp: new Date().toISOString(), service, ...attributes }) + '\\n');
}
export const LogLevelThreshold = { TRACE: 6, DEBUG: 8, INFO: 12, WARN: 16, ERROR: 20, CRITICAL: 24, SILENT: 28 };
export class Logger {
  get level() { return LogLevelThreshold.INFO; }
  info(message, attributes) { write('INFO', message, attributes); }
  error(message, attributes) { write('ERROR', message, attributes); }
  warn(message, attributes) { write('WARN', message, attributes); }
}`,
};

/**
 * lib/http/httpHandler.ts imports the Idempotency-Key middleware (and with it the repository,
 * the client and the whole driver) for every function, though only POST routes use it.
 */
export const withoutIdempotencyMiddleware: Stub = {
  filter: /middleware\/idempotency(\.ts)?$/,
  contents: `export function idempotency() { throw new Error('not available in this what-if bundle'); }`,
};

/**
 * The service guard with one stripe: every order write referencing a service writes the same
 * document, which is how the guard worked before it was striped (it bumped the service document
 * itself). Contention-wise the same hot spot; the message count is the striped version's.
 */
export const singleServiceGuard: Stub = {
  filter: /^#lib\/domain\/serviceGuard$/,
  contents: `
export const SERVICE_GUARD_STRIPES = 1;
export function serviceGuardStripe() { return 0; }
export function serviceGuardKey(serviceId, stripe) { return 'service:' + serviceId + ':' + stripe; }
export function allServiceGuardKeys(serviceId) { return [serviceGuardKey(serviceId, 0)]; }`,
};

/**
 * The bundle without the metrics middleware (lib/http/middleware/metrics.ts and Powertools
 * Metrics): what counting the API's outcomes costs a cold start.
 */
export const withoutMetricsMiddleware: Stub = {
  filter: /middleware\/metrics(\.ts)?$/,
  contents: `export function apiMetrics() { return { before: () => {}, after: () => {}, onError: () => {} }; }`,
};

/**
 * lib/observability/tracing.ts replaced by pass-throughs: the function as it was before tracing
 * (no OpenTelemetry in the bundle, no command monitoring), the reference of the tracing section.
 */
export const withoutTracing: Stub = {
  filter: /^#lib\/observability\/tracing$/,
  contents: `
export function tracingEnabled() { return false; }
export async function startTracing() {}
export async function stopTracing() {}
export function xrayTraceId(traceId) { return traceId; }
export function currentTraceId() { return undefined; }
export function traceInvocation(_name, _attributes, run) { return run(); }
export function withClientSpan(_name, _attributes, run) { return run(); }
export function startClientSpan() { return undefined; }
export function endClientSpan() {}`,
};
