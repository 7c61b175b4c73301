import {
  type Attributes,
  context,
  defaultTextMapGetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AWSXRAY_TRACE_ID_HEADER, AWSXRayPropagator } from '@opentelemetry/propagator-aws-xray';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { XrayUdpSpanExporter } from './xrayUdpExporter.ts';

/**
 * Traces with the OpenTelemetry SDK in the bundle (README "Tracing"): one SERVER span per
 * invocation, parented to the trace Lambda's active tracing started (`_X_AMZN_TRACE_ID`), so
 * Lambda's sampling decision holds; CLIENT spans for MongoDB commands and SSM calls under it.
 * Spans are kept until the invocation ends, then sent as one UDP datagram to the sandbox's X-Ray
 * endpoint (`AWS_XRAY_DAEMON_ADDRESS`). Without that variable (not on Lambda, or tracing not
 * active) or with OTEL_SDK_DISABLED=true nothing is set up and every helper here runs its callback
 * alone.
 */

/** Spans per datagram: well under the 64 KB a UDP datagram carries, base64 included. */
const MAX_SPANS_PER_EXPORT = 100;

interface Tracing {
  tracer: Tracer;
  provider: BasicTracerProvider;
  contextManager: AsyncLocalStorageContextManager;
}

/** undefined: not decided yet (decided at first use, never at import); null: off. */
let active: Tracing | null | undefined;
let coldStart = true;
const propagator = new AWSXRayPropagator();

function setUp(exporter: SpanExporter, env: NodeJS.ProcessEnv): Tracing {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': env.POWERTOOLS_SERVICE_NAME || 'order-management-api',
      'cloud.provider': 'aws',
      'cloud.platform': 'aws_lambda',
      ...(env.AWS_REGION && { 'cloud.region': env.AWS_REGION }),
      ...(env.AWS_LAMBDA_FUNCTION_NAME && { 'faas.name': env.AWS_LAMBDA_FUNCTION_NAME }),
    }),
    spanProcessors: [
      // Flushed at the end of each invocation (traceInvocation); the timer is only a backstop.
      new BatchSpanProcessor(exporter, { maxExportBatchSize: MAX_SPANS_PER_EXPORT, scheduledDelayMillis: 60_000 }),
    ],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  return { tracer: provider.getTracer('order-management-api'), provider, contextManager };
}

function tracing(): Tracing | null {
  if (active === undefined) {
    const env = process.env;
    const address = env.AWS_XRAY_DAEMON_ADDRESS;
    active = env.OTEL_SDK_DISABLED === 'true' || !address ? null : setUp(new XrayUdpSpanExporter(address), env);
  }
  return active;
}

/** Whether spans are recorded in this container (the MongoDB client then turns on command monitoring). */
export function tracingEnabled(): boolean {
  return tracing() !== null;
}

/**
 * Sends spans to `exporter` from now on, in place of what the environment chose (tests pass an
 * InMemorySpanExporter; the bench a UDP exporter to a local stub).
 */
export async function startTracing(exporter: SpanExporter): Promise<void> {
  await stopTracing();
  active = setUp(exporter, process.env);
}

/** Turns tracing off and forgets the choice: the next use reads the environment again. */
export async function stopTracing(): Promise<void> {
  const current = active;
  active = undefined;
  if (current) {
    await current.provider.shutdown();
    context.disable();
  }
}

/** An OpenTelemetry trace id in X-Ray's form (`1-<8 hex of epoch seconds>-<24 hex>`), what its console searches for. */
export function xrayTraceId(traceId: string): string {
  return `1-${traceId.slice(0, 8)}-${traceId.slice(8)}`;
}

/** The X-Ray form of the current trace's id, or undefined outside a traced invocation. */
export function currentTraceId(): string | undefined {
  if (!tracing()) return undefined;
  const span = trace.getActiveSpan();
  return span ? xrayTraceId(span.spanContext().traceId) : undefined;
}

/**
 * This invocation's X-Ray trace header (`Root=…;Parent=…;Sampled=…`): from the runtime's per-invocation
 * store where it has one (functions that run invocations concurrently), else from `_X_AMZN_TRACE_ID`,
 * which the runtime sets before each invocation. Powertools reads it the same way.
 */
function lambdaTraceHeader(): string | undefined {
  const runtime = (globalThis as { awslambda?: { InvokeStore?: { getXRayTraceId?: () => string | undefined } } })
    .awslambda;
  return runtime?.InvokeStore?.getXRayTraceId?.() ?? process.env._X_AMZN_TRACE_ID;
}

function failed(span: Span, error: unknown): void {
  // The error's type only: a message may quote input, and spans must carry no request data.
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'Error' });
}

/**
 * Runs one invocation under a SERVER span named `name`, the child of Lambda's trace, then sends
 * the invocation's spans before returning (the only cost on the request's path: a protobuf
 * encoding and one local UDP send). A result's `statusCode` is recorded; 5xx marks the span failed.
 */
export async function traceInvocation<T extends { statusCode?: number }>(
  name: string,
  attributes: Attributes,
  run: () => Promise<T>,
): Promise<T> {
  const current = tracing();
  if (!current) return run();
  const lambdaTrace = lambdaTraceHeader();
  const parent = lambdaTrace
    ? propagator.extract(ROOT_CONTEXT, { [AWSXRAY_TRACE_ID_HEADER]: lambdaTrace }, defaultTextMapGetter)
    : ROOT_CONTEXT;
  const span = current.tracer.startSpan(
    name,
    { kind: SpanKind.SERVER, attributes: { ...attributes, 'faas.coldstart': coldStart } },
    parent,
  );
  coldStart = false;
  try {
    const result = await context.with(trace.setSpan(parent, span), run);
    if (result.statusCode !== undefined) {
      span.setAttribute('http.response.status_code', result.statusCode);
      if (result.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    }
    return result;
  } catch (error) {
    failed(span, error);
    throw error;
  } finally {
    span.end();
    await current.provider.forceFlush().catch(() => {});
  }
}

/** Runs `run` under a CLIENT span (a call to another service) when tracing is on. */
export async function withClientSpan<T>(name: string, attributes: Attributes, run: () => Promise<T>): Promise<T> {
  const current = tracing();
  if (!current) return run();
  return current.tracer.startActiveSpan(name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      return await run();
    } catch (error) {
      failed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Starts a CLIENT span under the current one, for calls whose start and end arrive as events; undefined when off. */
export function startClientSpan(name: string, attributes: Attributes): Span | undefined {
  return tracing()?.tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes });
}

/** Ends a span from startClientSpan, failed with `errorName` when given. */
export function endClientSpan(span: Span, errorName?: string): void {
  if (errorName !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: errorName });
  span.end();
}
