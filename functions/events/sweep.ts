import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { oldestUndeliveredAgeSeconds, relayToBus } from '#lib/events/outboxRelay';
import { metrics } from '#lib/http/middleware/metrics';
import { logger } from '#lib/http/requestLog';
import { METRIC } from '#lib/observability/metricNames';

/** Time the sweep keeps after its last batch starts: a batch's puts and backoffs, the marks, the metrics. */
const SWEEP_MARGIN_MS = 4_000;

/**
 * The relay's scheduled sweep (serverless.yml `relayOutbox`, every minute): publishes whatever the
 * fast path after each write left (a frozen or crashed function, a throttled put), then reports
 * the age of the oldest event still undelivered, which the OutboxOldestEventAge alarm watches.
 */
export async function handler(
  _event?: unknown,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<{ published: number; failures: number; oldestAgeSeconds: number }> {
  let published = 0;
  let failures = 0;
  try {
    // No batch starts in the last 4 s of the function's time: a batch and its retries fit in them.
    const budgetMs = context ? Math.max(0, context.getRemainingTimeInMillis() - SWEEP_MARGIN_MS) : undefined;
    ({ published, failures } = await relayToBus(budgetMs === undefined ? {} : { budgetMs }));
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
