import type { Span } from '@opentelemetry/api';
import type { CommandFailedEvent, CommandStartedEvent, CommandSucceededEvent, MongoClient } from 'mongodb';
import { endClientSpan, startClientSpan } from '#lib/observability/tracing';

/**
 * One CLIENT span per MongoDB command, from the driver's command monitoring (the client is
 * created with `monitorCommands: true` when tracing is on). The driver's own events rather than
 * `@opentelemetry/instrumentation-mongodb`: that one patches the `mongodb` module as Node loads
 * it, which never happens in an esbuild bundle (the driver is inlined), and it brings the
 * instrumentation framework (require/import-in-the-middle) into every bundle.
 * A span carries the command's name, collection, database and server address only: never the
 * command document (filters, documents, credentials) nor the connection string.
 */
export function traceCommands(client: MongoClient): void {
  const inFlight = new Map<string, Span>();
  const key = (event: { address: string; requestId: number }) => `${event.address}#${event.requestId}`;
  client.on('commandStarted', (event: CommandStartedEvent) => {
    const target = event.command[event.commandName];
    const collection =
      typeof target === 'string'
        ? target
        : typeof event.command.collection === 'string'
          ? event.command.collection
          : '';
    const colon = event.address.lastIndexOf(':');
    const span = startClientSpan(collection ? `${event.commandName} ${collection}` : event.commandName, {
      'db.system.name': 'mongodb',
      'db.operation.name': event.commandName,
      'db.namespace': event.databaseName,
      ...(collection && { 'db.collection.name': collection }),
      'server.address': colon > 0 ? event.address.slice(0, colon) : event.address,
      ...(colon > 0 && { 'server.port': Number(event.address.slice(colon + 1)) }),
    });
    if (span) inFlight.set(key(event), span);
  });
  client.on('commandSucceeded', (event: CommandSucceededEvent) => {
    const span = inFlight.get(key(event));
    if (!span) return;
    inFlight.delete(key(event));
    endClientSpan(span);
  });
  client.on('commandFailed', (event: CommandFailedEvent) => {
    const span = inFlight.get(key(event));
    if (!span) return;
    inFlight.delete(key(event));
    const failure = event.failure as { codeName?: unknown; name?: unknown };
    // The server's code name (WriteConflict, DuplicateKey) or the error's class; never its message.
    const name = typeof failure.codeName === 'string' ? failure.codeName : String(failure.name ?? 'Error');
    span.setAttribute('db.response.status_code', name);
    endClientSpan(span, name);
  });
}
