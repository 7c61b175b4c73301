import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { config } from '#lib/config';
import { oldestUndeliveredAt } from '#lib/db/outboxRepository';
import { type RelayOptions, type RelayReport, relayOutbox } from './relay.ts';

let client: Promise<EventBridgeClient> | undefined;

/**
 * The container's EventBridge client, made on first use: the SDK (which the Lambda runtime
 * provides) is imported then, not at cold start. Its endpoint is AWS's unless the SDK's own
 * AWS_ENDPOINT_URL_EVENTBRIDGE names another (`npm start`'s stand-in, the packaged dry-run).
 */
function eventBridge(): Promise<EventBridgeClient> {
  client ??= import('@aws-sdk/client-eventbridge').then(({ EventBridgeClient }) => new EventBridgeClient({}));
  return client;
}

/** True when a bus is configured (EVENT_BUS_NAME): without one, events wait in the outbox. */
export function relayConfigured(): boolean {
  return config().eventBusName !== undefined;
}

/** Runs the relay against the configured bus; a report of nothing when none is configured. */
export async function relayToBus(
  limits: Pick<RelayOptions, 'maxBatches' | 'maxAttempts' | 'baseDelayMs' | 'budgetMs'> = {},
): Promise<RelayReport> {
  const busName = config().eventBusName;
  if (!busName) return { published: 0, failures: 0, incomplete: false };
  return relayOutbox({ client: await eventBridge(), busName, ...limits });
}

/** Age in seconds of the oldest undelivered event: 0 when all are delivered. */
export async function oldestUndeliveredAgeSeconds(now: Date = new Date()): Promise<number> {
  const oldest = await oldestUndeliveredAt();
  return oldest ? Math.max(0, (now.getTime() - oldest.getTime()) / 1000) : 0;
}
