import { getXRayTraceIdFromEnv, isDevMode } from '@aws-lambda-powertools/commons/utils/env';
import { Logger, LogLevelThreshold } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { currentTraceId } from '#lib/observability/tracing';
import { correlationIdFor } from './correlation.ts';

const SERVICE_NAME = 'order-management-api';

/**
 * The logger's level as the request line last read it; forgotten whenever the level is set. Read
 * through Powertools on every request, the level costs an environment read (whether invocations
 * run concurrently, AWS_LAMBDA_MAX_CONCURRENCY) a few microseconds long on a warm GET.
 */
let knownLevel: number | undefined;

/**
 * Powertools' Logger, which also tells the request line when its level changes. Every change
 * after construction goes through setLogLevel (a call from our code, Lambda's log level controls,
 * debug sampling), so a level remembered since the last call is the level.
 */
class ServiceLogger extends Logger {
  override setLogLevel(logLevel: Parameters<Logger['setLogLevel']>[0]): void {
    knownLevel = undefined;
    super.setLogLevel(logLevel);
  }
}

/**
 * The service's structured JSON logger (AWS Lambda Powertools). Only request metadata is
 * logged: never bodies, headers, tokens or connection strings.
 */
export const logger: Logger = new ServiceLogger({ serviceName: SERVICE_NAME });

/**
 * What the request line says beyond Powertools' own keys, in the order it says it. A type, not an
 * interface: Powertools takes it as an attributes record, which needs an index signature.
 */
export type RequestLogFields = {
  requestId: string;
  route: string;
  method: string | undefined;
  path: string;
  status: number | undefined;
  durationMs: number;
  traceId: string | undefined;
};

/**
 * Whether this container writes the request line itself (`requestLine`) rather than through
 * `logger.info`. Decided once, from the environment Powertools reads for the options that change
 * a line's shape: dev mode (indented JSON on the global console), a TZ other than UTC (timestamps
 * with an offset) and debug sampling (a `sampling_rate` key). With any of them the line goes
 * through Powertools, which knows how to write it. Nothing in this code base adds keys or the
 * Lambda context to `logger` (appendKeys, addContext, injectLambdaContext): a change that does
 * must write them here too, or tests/unit/requestLog.test.ts shows the difference.
 */
let ownLine: boolean | undefined;
/** Whether the level is the container's (not one per invocation, as with concurrent invocations). */
let sharedLevel = false;

function writesOwnLine(): boolean {
  if (ownLine === undefined) {
    const env = process.env;
    const timezone = env.TZ;
    ownLine = !isDevMode() && (!timezone || timezone.includes('UTC')) && !env.POWERTOOLS_LOGGER_SAMPLE_RATE;
    // Powertools keeps the level per invocation when AWS_LAMBDA_MAX_CONCURRENCY is set (its
    // shouldUseInvokeStore); the runtime sets it before the function's code is loaded.
    sharedLevel = !env.AWS_LAMBDA_MAX_CONCURRENCY;
  }
  return ownLine;
}

/** The logger's level in effect, as LogLevelThreshold numbers it. */
function levelNow(): number {
  if (!sharedLevel) return logger.level;
  knownLevel ??= logger.level;
  return knownLevel;
}

/** `,"key":"value"` in JSON, or nothing for what Powertools leaves out (undefined, null and ''). */
function text(key: string, value: string | undefined): string {
  return value ? `,"${key}":${JSON.stringify(value)}` : '';
}

/** `,"key":value` in JSON (NaN and infinities as null, as JSON.stringify writes them), or nothing when absent. */
function number(key: string, value: number | undefined): string {
  return value == null ? '' : `,"${key}":${JSON.stringify(value)}`;
}

/**
 * The request line exactly as Powertools Logger writes `logger.info('request', fields)` with this
 * module's logger (tests/unit/requestLog.test.ts compares the two byte for byte), built directly.
 * Why not through Powertools: its generic path costs several times the whole line on every
 * request (a log item object, a deep merge, a copy without empty keys, a JSON.stringify with a
 * replacer function called on every key, two environment reads), and on a warm GET that was
 * about 40% of the API's overhead over a bare `findOne` (bench, issue #22). A schema-compiled
 * serializer (fast-json-stringify) would bring ajv and more into every bundle for one fixed line.
 */
export function requestLine(fields: RequestLogFields): string {
  // sampling_rate: Powertools writes its debug sampling rate, 0 unless POWERTOOLS_LOGGER_SAMPLE_RATE
  // is set (and then writesOwnLine leaves the line to it).
  let line = `{"level":"INFO","message":"request","timestamp":"${new Date().toISOString()}","service":"${SERVICE_NAME}","sampling_rate":0`;
  line += text('xray_trace_id', getXRayTraceIdFromEnv());
  // The fields one by one, in the order logRequest gives them: the order Powertools keeps.
  line += text('requestId', fields.requestId);
  line += text('route', fields.route);
  line += text('method', fields.method);
  line += text('path', fields.path);
  line += number('status', fields.status);
  line += number('durationMs', fields.durationMs);
  line += text('traceId', fields.traceId);
  return `${line}}`;
}

/**
 * One line per request: correlation id, route, status and duration, and the trace id (X-Ray's
 * form) when the request is traced, so the line leads to its trace and the trace back to it.
 */
export function logRequest(
  event: APIGatewayProxyEventV2,
  context: Pick<Context, 'awsRequestId'>,
  result: APIGatewayProxyStructuredResultV2,
  startedAt: number,
): void {
  const own = writesOwnLine();
  // Powertools' level, so POWERTOOLS_LOG_LEVEL, setLogLevel and Lambda's log level controls hold;
  // a line that will not be written is not built.
  if (own && levelNow() > LogLevelThreshold.INFO) return;
  const fields: RequestLogFields = {
    requestId: correlationIdFor(event, context),
    route: event.routeKey,
    method: event.requestContext?.http?.method,
    path: event.rawPath,
    status: result.statusCode,
    durationMs: Math.round((performance.now() - startedAt) * 10) / 10,
    traceId: currentTraceId(),
  };
  if (!own) {
    logger.info('request', fields);
    return;
  }
  writeLine(requestLine(fields));
}

/** Listens for stdout's 'error' event, so that it is not thrown as an uncaught error. */
function ignoreError(): void {}

/** After a write: when it failed and nothing else listens for stdout's errors, the error to follow is swallowed. */
function afterWrite(error: Error | null | undefined): void {
  if (error && process.stdout.listenerCount('error') === 0) process.stdout.once('error', ignoreError);
}

/** Request lines built but not yet written, each ending in a newline; written by `flushRequestLines`. */
let pendingLines = '';

/**
 * Queues a request line, to be written once the answer has left: `setImmediate` runs after the
 * handler's promise settles and the runtime has sent the answer on, and before the runtime waits
 * for the next event (the Lambda runtime schedules that wait with `setImmediate` too, later), so
 * the line is written before the sandbox can freeze. A write is a system call, the request line's
 * biggest cost (about 13 µs of the 29 µs it added to a warm GET here, by CPU profile); lines
 * queued in the same turn go out in one write.
 */
function writeLine(line: string): void {
  if (pendingLines === '') setImmediate(flushRequestLines);
  pendingLines += `${line}\n`;
}

/**
 * Writes the queued request lines to stdout in one write, swallowing write errors (a closed pipe)
 * rather than failing a request that has been answered, as the Console Powertools writes through
 * does. Written to the stream directly: a Console also formats its argument and adds and removes
 * an error listener around every write, in case the stream throws synchronously, which a failed
 * write here cannot escape. Exported for tests, which read the lines at once.
 */
export function flushRequestLines(): void {
  const text = pendingLines;
  if (text === '') return;
  pendingLines = '';
  try {
    process.stdout.write(text, afterWrite);
  } catch {
    // Stdout gone from under the process: the request has its answer; the lines are lost.
  }
}
