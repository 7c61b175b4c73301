import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { resetConfig } from '#lib/config';
import { closeConnection } from '#lib/db/client';
import { resetConnectionStringCache } from '#lib/db/connectionString';
import type { ApiHandler } from '#lib/http/httpHandler';
import { startTracing, stopTracing } from '#lib/observability/tracing';
import { handler as createOrder } from '../../functions/orders/create.ts';
import { handler as getOrder } from '../../functions/orders/get.ts';
import { handler as updateOrder } from '../../functions/orders/update.ts';
import { handler as createService } from '../../functions/services/create.ts';
import { useApiDatabase } from '../support/api.ts';
import { apiGatewayEvent, lambdaContext, type TestRequest } from '../support/apiEvents.ts';
import { bearer } from '../support/auth.ts';
import { connectTestClient, testMongoUri } from '../support/mongo.ts';
import { captureRequestLogs } from '../support/requestLogs.ts';

useApiDatabase('handlers_tracing');

const PARAMETER = '/order-management-api/test/mongodb-uri';
const ssm = mockClient(SSMClient);
const exporter = new InMemorySpanExporter();
/** The connection string as SSM hands it over, with a marker no span may ever show. */
const connectionString = (() => {
  const uri = new URL(testMongoUri());
  uri.searchParams.set('appName', `secret-${randomBytes(6).toString('hex')}`);
  return uri.toString();
})();

/** What Lambda's active tracing puts in _X_AMZN_TRACE_ID for one invocation. */
function lambdaTraceHeader(sampled: boolean) {
  const root = `1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
  const parent = randomBytes(8).toString('hex');
  return { root, parent, header: `Root=${root};Parent=${parent};Sampled=${sampled ? 1 : 0}` };
}

/** Invokes a handler as API Gateway would, inside a Lambda trace; returns the spans, the log line and the event. */
async function invokeTraced(handler: ApiHandler, request: TestRequest, sampled = true) {
  const lambdaTrace = lambdaTraceHeader(sampled);
  process.env._X_AMZN_TRACE_ID = lambdaTrace.header;
  const event = apiGatewayEvent({ ...request, headers: { authorization: await bearer() } });
  const context = lambdaContext();
  exporter.reset();
  const { result, lines } = await captureRequestLogs(() => handler(event, context));
  const logLine = lines[0];
  delete process.env._X_AMZN_TRACE_ID;
  return { result, spans: exporter.getFinishedSpans(), logLine, event, context, lambdaTrace };
}

const invocationSpan = (spans: ReadableSpan[]) => spans.find((span) => span.kind === SpanKind.SERVER) as ReadableSpan;
const mongoSpans = (spans: ReadableSpan[]) => spans.filter((span) => span.attributes['db.system.name'] === 'mongodb');

/** Whether the server is MongoDB 8.0 or later (maxWireVersion 25), where a create sends a client bulkWrite. */
let serverIs8 = false;

beforeAll(async () => {
  const probe = await connectTestClient();
  try {
    serverIs8 = (await probe.db('admin').command({ hello: 1 })).maxWireVersion >= 25;
  } finally {
    await probe.close();
  }
  // The connection string comes from SSM here, as on Lambda.
  delete process.env.MONGODB_URI;
  process.env.MONGODB_URI_PARAMETER = PARAMETER;
  resetConfig();
  resetConnectionStringCache();
  await closeConnection();
  ssm.on(GetParameterCommand).resolves({ Parameter: { Name: PARAMETER, Value: connectionString } });
  await startTracing(exporter);
});

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(async () => {
  await closeConnection();
  await stopTracing();
  ssm.restore();
  process.env.MONGODB_URI = testMongoUri();
  delete process.env.MONGODB_URI_PARAMETER;
  resetConnectionStringCache();
  resetConfig();
});

const serviceId = `trace-svc-${randomBytes(3).toString('hex')}`;
const orderId = `trace-order-${randomBytes(3).toString('hex')}`;

describe('tracing', () => {
  it("puts a container's first request under one invocation span, in Lambda's trace, with the SSM read and every MongoDB command as children", async () => {
    const { result, spans, logLine, event, context, lambdaTrace } = await invokeTraced(createService, {
      method: 'POST',
      route: '/services',
      body: { id: serviceId, name: 'Traced wash' },
    });
    expect(result.statusCode).toBe(201);
    const invocation = invocationSpan(spans);
    expect(invocation.name).toBe('POST /services');
    // In the trace Lambda started, under Lambda's own segment.
    expect(`1-${invocation.spanContext().traceId.slice(0, 8)}-${invocation.spanContext().traceId.slice(8)}`).toBe(
      lambdaTrace.root,
    );
    expect(invocation.parentSpanContext?.spanId).toBe(lambdaTrace.parent);
    expect(invocation.attributes).toMatchObject({
      'app.correlation_id': event.requestContext.requestId,
      'aws.apigateway.request_id': event.requestContext.requestId,
      'faas.invocation_id': context.awsRequestId,
      'http.request.method': 'POST',
      'http.route': '/services',
      'http.response.status_code': 201,
    });

    const ssmSpans = spans.filter((span) => span.name === 'SSM.GetParameter');
    expect(ssmSpans).toHaveLength(1);
    expect(ssmSpans[0]?.kind).toBe(SpanKind.CLIENT);
    expect(ssmSpans[0]?.parentSpanContext?.spanId).toBe(invocation.spanContext().spanId);
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);

    const commands = mongoSpans(spans);
    // The first request creates the indexes, then writes the service.
    expect(commands.map((span) => span.name)).toEqual(
      expect.arrayContaining(['createIndexes orders', 'insert services']),
    );
    for (const span of commands) {
      expect(span.kind).toBe(SpanKind.CLIENT);
      expect(span.parentSpanContext?.spanId).toBe(invocation.spanContext().spanId);
      expect(span.spanContext().traceId).toBe(invocation.spanContext().traceId);
      expect(span.name.split(' ')[0]).toBe(span.attributes['db.operation.name']);
    }
    // The request log line names the trace, in the form X-Ray's console searches for.
    expect(logLine).toMatchObject({ requestId: event.requestContext.requestId, traceId: lambdaTrace.root });
  });

  it('gives a warm create one span per MongoDB command with its name and collection, and no SSM read', async () => {
    const { result, spans, logLine, lambdaTrace } = await invokeTraced(createOrder, {
      method: 'POST',
      route: '/orders',
      body: { id: orderId, datetime: '2031-03-03T10:00:00Z', totalfee: 4321.5, services: [{ id: serviceId }] },
    });
    expect(result.statusCode).toBe(201);
    expect(spans.filter((span) => span.name === 'SSM.GetParameter')).toEqual([]);
    const invocation = invocationSpan(spans);
    expect(invocation.status.code).not.toBe(SpanStatusCode.ERROR);
    const commands = mongoSpans(spans);
    // Exactly what the create sends: on 8.0 one client bulkWrite (locks, service and neighbour
    // checks, the outbox event's and the order's inserts, on `admin`), the commit; before 8.0 the
    // collection commands (lib/db/ordersRepository.ts, claimAndWriteOrder).
    expect(commands.map((span) => span.name)).toEqual(
      serverIs8
        ? ['bulkWrite', 'commitTransaction']
        : ['update order_window_locks', 'update orders', 'insert outbox_events', 'commitTransaction'],
    );
    for (const span of commands) {
      expect(span.parentSpanContext?.spanId).toBe(invocation.spanContext().spanId);
      // Transactions commit on `admin`; every command on a collection names the API's database.
      if (span.attributes['db.collection.name'] !== undefined) {
        expect(span.attributes['db.namespace']).toBe(process.env.MONGODB_DATABASE);
      }
      expect(span.endTime).not.toEqual(span.startTime);
    }
    if (!serverIs8) {
      expect(commands.find((span) => span.name === 'update orders')?.attributes['db.collection.name']).toBe('orders');
    } else {
      expect(commands[0]?.attributes).toMatchObject({ 'db.namespace': 'admin', 'db.operation.name': 'bulkWrite' });
    }
    expect(logLine?.traceId).toBe(lambdaTrace.root);
  });

  it('gives a warm move one span per MongoDB command: on 8.0 the find, the client bulkWrite, the commit', async () => {
    // The order the warm create above stored, moved a day later.
    const { result, spans } = await invokeTraced(updateOrder, {
      method: 'PUT',
      route: '/orders/{id}',
      pathParameters: { id: orderId },
      body: { datetime: '2031-03-04T10:00:00Z', totalfee: 4321.5, services: [{ id: serviceId }] },
    });
    expect(result.statusCode).toBe(200);
    const invocation = invocationSpan(spans);
    const commands = mongoSpans(spans);
    // On 8.0 the move reads first (the order and its new neighbours), then one bulkWrite (locks,
    // service checks, its order.moved event, the order's update at the version read), the commit.
    expect(commands.map((span) => span.name)).toEqual(
      serverIs8
        ? ['find orders', 'bulkWrite', 'commitTransaction']
        : [
            'update order_window_locks',
            'aggregate services',
            'update orders',
            'insert outbox_events',
            'commitTransaction',
          ],
    );
    for (const span of commands) expect(span.parentSpanContext?.spanId).toBe(invocation.spanContext().spanId);
  });

  it('never puts the connection string, the token or the request body on a span', async () => {
    resetConnectionStringCache();
    await closeConnection();
    const token = await bearer();
    const { spans } = await invokeTraced(getOrder, {
      method: 'GET',
      route: '/orders/{id}',
      pathParameters: { id: orderId },
    });
    const { spans: createSpans } = await invokeTraced(createOrder, {
      method: 'POST',
      route: '/orders',
      body: { id: `${orderId}-2`, datetime: '2031-05-05T10:00:00Z', totalfee: 987.65, services: [{ id: serviceId }] },
    });
    const everything = JSON.stringify(
      [...spans, ...createSpans].map((span) => ({
        name: span.name,
        attributes: span.attributes,
        events: span.events,
        status: span.status,
        resource: span.resource.attributes,
      })),
    );
    expect(spans.some((span) => span.name === 'SSM.GetParameter')).toBe(true);
    expect(mongoSpans(createSpans).length).toBeGreaterThan(0);
    for (const secret of [connectionString, new URL(connectionString).searchParams.get('appName') as string]) {
      expect(everything).not.toContain(secret);
    }
    expect(everything).not.toContain('mongodb://');
    expect(everything).not.toContain(token.replace(/^Bearer /, '').slice(0, 40));
    expect(everything).not.toContain(orderId);
    expect(everything).not.toContain('987.65');
  });

  it("records nothing when Lambda did not sample the request, yet logs the trace's id", async () => {
    const { result, spans, logLine, lambdaTrace } = await invokeTraced(
      getOrder,
      { method: 'GET', route: '/orders/{id}', pathParameters: { id: orderId } },
      false,
    );
    expect(result.statusCode).toBe(200);
    expect(spans).toEqual([]);
    expect(logLine?.traceId).toBe(lambdaTrace.root);
  });
});

describe('tracing on Lambda', () => {
  it('sends the spans of an invocation to AWS_XRAY_DAEMON_ADDRESS as one OTLP datagram, as the ADOT layer does', async () => {
    const endpoint = createSocket('udp4');
    await new Promise<void>((resolve) => endpoint.bind(0, '127.0.0.1', resolve));
    const received = new Promise<Buffer>((resolve) => endpoint.once('message', resolve));
    process.env.AWS_XRAY_DAEMON_ADDRESS = `127.0.0.1:${endpoint.address().port}`;
    try {
      await stopTracing(); // the next request reads the environment, as a fresh container does
      const { result } = await invokeTraced(getOrder, {
        method: 'GET',
        route: '/orders/{id}',
        pathParameters: { id: orderId },
      });
      expect(result.statusCode).toBe(200);
      const datagram = (await received).toString('utf8');
      const [header, body = ''] = datagram.split('\n');
      expect(JSON.parse(header ?? '')).toEqual({ format: 'json', version: 1 });
      expect(body.startsWith('T1S')).toBe(true);
      // OTLP protobuf keeps strings as UTF-8: the span names are readable in the decoded payload.
      const payload = Buffer.from(body.slice(3), 'base64').toString('latin1');
      expect(payload).toContain('GET /orders/{id}');
      expect(payload).toContain('find orders');
    } finally {
      delete process.env.AWS_XRAY_DAEMON_ADDRESS;
      endpoint.close();
      await stopTracing();
    }
  });
});
