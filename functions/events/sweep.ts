import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { oldestUndeliveredAgeSeconds, relayToBus } from '#lib/events/outboxRelay';
import { metrics } from '#lib/http/middleware/metrics';
import { logger } from '#lib/http/requestLog';
import { METRIC } from '#lib/observability/metricNames';

/**
 * The relay's scheduled sweep (serverless.yml `relayOutbox`, every minute): publishes whatever the
 * fast path after each write left (a frozen or crashed function, a throttled put), then reports
 * the age of the oldest event still undelivered, which the OutboxOldestEventAge alarm watches.
 */
export async function handler(): Promise<{ published: number; failures: number; oldestAgeSeconds: number }> {
  let published = 0;
  let failures = 0;
  try {
    ({ published, failures } = await relayToBus());
  } catch (error) {
    failures += 1;
    logger.error('the outbox sweep failed', { error });
  }
  const oldestAgeSeconds = await oldestUndeliveredAgeSeconds();
  metrics.addMetric(METRIC.eventsSwept, MetricUnit.Count, published);
  metrics.addMetric(METRIC.eventRelayFailures, MetricUnit.Count, failures);
  metrics.addMetric(METRIC.outboxOldestEventAge, MetricUnit.Seconds, oldestAgeSeconds);
  metrics.publishStoredMetrics();
  return { published, failures, oldestAgeSeconds };
}
