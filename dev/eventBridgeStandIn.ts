/**
 * A stand-in for EventBridge's PutEvents on localhost, for `npm start`: it accepts every entry and
 * prints each as one line, so a developer sees what production would put on the bus. The relay
 * reaches it through the AWS SDK's own endpoint setting (AWS_ENDPOINT_URL_EVENTBRIDGE), so the
 * same client code and wire protocol (AWS JSON 1.1) run as on AWS.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

/** One PutEvents entry as the SDK sends it. */
interface PutEventsEntry {
  EventBusName?: string;
  Source?: string;
  DetailType?: string;
  Detail?: string;
}

/** The one line printed for an entry: its type, resource, version and actor, then the whole detail. */
export function eventLine(entry: PutEventsEntry): string {
  let detail: { resourceId?: string; version?: number; actor?: string | null } = {};
  try {
    detail = JSON.parse(entry.Detail ?? '{}');
  } catch {
    // Printed as it came: the line still shows what was put.
  }
  return `[event] ${entry.DetailType} ${detail.resourceId} v${detail.version} by ${detail.actor ?? '-'} on ${entry.EventBusName}: ${entry.Detail}`;
}

/** Starts the stand-in on a free port of 127.0.0.1; `print` gets one line per event put. */
export async function startEventBridgeStandIn(
  print: (line: string) => void = console.log,
): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    request.on('end', () => {
      const target = String(request.headers['x-amz-target'] ?? '');
      if (target !== 'AWSEvents.PutEvents') {
        response.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(JSON.stringify({ __type: 'UnknownOperationException', message: `not stood in for: ${target}` }));
        return;
      }
      const entries = ((JSON.parse(text || '{}') as { Entries?: PutEventsEntry[] }).Entries ?? []) as PutEventsEntry[];
      for (const entry of entries) print(eventLine(entry));
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify({ FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: randomUUID() })) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the EventBridge stand-in has no address');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
