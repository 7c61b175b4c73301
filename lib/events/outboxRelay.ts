import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { config } from '#lib/config';
import { oldestUndeliveredAt } from '#lib/db/outboxRepository';
import { type RelayOptions, type RelayReport, relayOutbox } from './relay.ts';

let client: EventBridgeClient | undefined;

/** The container's EventBridge client, made on first use (no work at import time). */
function eventBridge(): EventBridgeClient {
  const { eventsEndpoint } = config();
  client ??= new EventBridgeClient(eventsEndpoint ? { endpoint: eventsEndpoint } : {});
  return client;
}

/** True when a bus is configured (EVENT_BUS_NAME): without one, events wait in the outbox. */
export function relayConfigured(): boolean {
  return config().eventBusName !== undefined;
}

/** Runs the relay against the configured bus; a report of nothing when none is configured. */
export async function relayToBus(
  limits: Pick<RelayOptions, 'maxBatches' | 'maxAttempts' | 'baseDelayMs'> = {},
): Promise<RelayReport> {
  const busName = config().eventBusName;
  if (!busName) return { published: 0, failures: 0, incomplete: false };
  return relayOutbox({ client: eventBridge(), busName, ...limits });
}

/** Age in seconds of the oldest undelivered event: 0 when all are delivered. */
export async function oldestUndeliveredAgeSeconds(now: Date = new Date()): Promise<number> {
  const oldest = await oldestUndeliveredAt();
  return oldest ? Math.max(0, (now.getTime() - oldest.getTime()) / 1000) : 0;
}
