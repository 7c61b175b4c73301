import { EventEmitter } from 'node:events';
import { SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { traceCommands } from '#lib/db/commandSpans';
import { startTracing, stopTracing, traceInvocation } from '#lib/observability/tracing';

const exporter = new InMemorySpanExporter();

beforeAll(async () => {
  await startTracing(exporter);
});

afterAll(async () => {
  await stopTracing();
});

/** A client that emits the driver's command monitoring events as a test says. */
function fakeClient() {
  const client = new EventEmitter();
  traceCommands(client as unknown as MongoClient);
  return client;
}

const address = 'db-0.example.net:27017';

describe('MongoDB command spans', () => {
  it('marks a failed command with the server code name, never the error message or the command', async () => {
    const client = fakeClient();
    exporter.reset();
    await traceInvocation('POST /orders', {}, async () => {
      client.emit('commandStarted', {
        commandName: 'insert',
        databaseName: 'orders',
        requestId: 41,
        address,
        command: { insert: 'orders', documents: [{ _id: 'secret-order', totalfee: 123.45 }] },
      });
      client.emit('commandFailed', {
        commandName: 'insert',
        requestId: 41,
        address,
        failure: Object.assign(new Error('WriteConflict on secret-order'), { codeName: 'WriteConflict' }),
      });
      return { statusCode: 503 };
    });
    const insert = exporter.getFinishedSpans().find((span) => span.name === 'insert orders');
    expect(insert?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'WriteConflict' });
    expect(insert?.attributes).toMatchObject({
      'db.operation.name': 'insert',
      'db.collection.name': 'orders',
      'db.namespace': 'orders',
      'db.response.status_code': 'WriteConflict',
      'server.address': 'db-0.example.net',
      'server.port': 27017,
    });
    expect(JSON.stringify(exporter.getFinishedSpans().map((span) => [span.attributes, span.status]))).not.toContain(
      'secret-order',
    );
  });

  it('pairs each reply with its own command when several are in flight', async () => {
    const client = fakeClient();
    exporter.reset();
    await traceInvocation('GET /orders', {}, async () => {
      const start = (requestId: number, collection: string) =>
        client.emit('commandStarted', {
          commandName: 'find',
          databaseName: 'orders',
          requestId,
          address,
          command: { find: collection },
        });
      start(1, 'orders');
      start(2, 'services');
      client.emit('commandSucceeded', { commandName: 'find', requestId: 2, address });
      await new Promise((resolve) => setTimeout(resolve, 5));
      client.emit('commandSucceeded', { commandName: 'find', requestId: 1, address });
      return { statusCode: 200 };
    });
    const spans = exporter.getFinishedSpans();
    const orders = spans.find((span) => span.name === 'find orders');
    const services = spans.find((span) => span.name === 'find services');
    expect(orders && services).toBeTruthy();
    const ms = (t: [number, number]) => t[0] * 1e3 + t[1] / 1e6;
    expect(ms(orders?.endTime as [number, number])).toBeGreaterThan(ms(services?.endTime as [number, number]));
    for (const span of [orders, services]) expect(span?.status.code).not.toBe(SpanStatusCode.ERROR);
  });

  it('names a getMore by its collection field, a command without one by its name, and an address without a port as is', async () => {
    const client = fakeClient();
    exporter.reset();
    await traceInvocation('GET /orders', {}, async () => {
      client.emit('commandStarted', {
        commandName: 'getMore',
        databaseName: 'orders',
        requestId: 7,
        address: 'db-socket',
        command: { getMore: 123n, collection: 'orders' },
      });
      client.emit('commandSucceeded', { commandName: 'getMore', requestId: 7, address: 'db-socket' });
      client.emit('commandStarted', {
        commandName: 'ping',
        databaseName: 'admin',
        requestId: 8,
        address: 'db-socket',
        command: { ping: 1, collection: 5 },
      });
      client.emit('commandFailed', {
        commandName: 'ping',
        requestId: 8,
        address: 'db-socket',
        failure: Object.assign(new Error('boom'), { name: 'MongoNetworkError' }),
      });
      // Replies for commands never seen (or seen twice) are ignored.
      client.emit('commandSucceeded', { commandName: 'ping', requestId: 8, address: 'db-socket' });
      client.emit('commandFailed', { commandName: 'ping', requestId: 99, address: 'db-socket', failure: {} });
      return { statusCode: 200 };
    });
    const spans = exporter.getFinishedSpans();
    const getMore = spans.find((span) => span.name === 'getMore orders');
    expect(getMore?.attributes).toMatchObject({ 'db.collection.name': 'orders', 'server.address': 'db-socket' });
    expect(getMore?.attributes).not.toHaveProperty('server.port');
    const ping = spans.filter((span) => span.name === 'ping');
    expect(ping).toHaveLength(1);
    expect(ping[0]?.attributes).not.toHaveProperty('db.collection.name');
    expect(ping[0]?.attributes['db.response.status_code']).toBe('MongoNetworkError');
    expect(ping[0]?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'MongoNetworkError' });
    expect(spans.filter((span) => span.kind === 2)).toHaveLength(2);
  });

  it('names a failure without a code name or a name plainly as Error', async () => {
    const client = fakeClient();
    exporter.reset();
    await traceInvocation('GET /orders', {}, async () => {
      client.emit('commandStarted', {
        commandName: 'find',
        databaseName: 'o',
        requestId: 3,
        address,
        command: { find: 'x' },
      });
      client.emit('commandFailed', { commandName: 'find', requestId: 3, address, failure: {} });
      return { statusCode: 500 };
    });
    const find = exporter.getFinishedSpans().find((span) => span.name === 'find x');
    expect(find?.attributes['db.response.status_code']).toBe('Error');
  });
});
