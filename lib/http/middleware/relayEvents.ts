import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { relayConfigured, relayToBus } from '#lib/events/outboxRelay';
import { logger } from '../requestLog.ts';

/**
 * The relay's fast path: once a write's answer is ready (its transaction, and so its outbox event,
 * committed), starts publishing the outbox without waiting for it. The answer is neither delayed
 * nor failed by EventBridge: the event is already durable, so this only shortens its way out.
 * Lambda freezes the container once the answer is returned: a put still in flight then finishes
 * when the container thaws for its next request, or is abandoned; either way an event not marked
 * delivered is put (again, same `eventId`) by the scheduled sweep (functions/events/sweep.ts).
 * It counts no metric: one finishing after the answer would land in a later request's record; the
 * sweep's EventsSwept and EventRelayFailures say what the fast path missed.
 */
export function relayAfterWrite(): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  return {
    after: async (request) => {
      const status = request.response?.statusCode ?? 0;
      if (!relayConfigured() || status >= 300) return;
      // One batch, two attempts: the sweep owns long retries.
      void relayToBus({ maxBatches: 1, maxAttempts: 2 }).then(
        (report) => {
          if (report.failures > 0) logger.warn('events left for the sweep', { failures: report.failures });
        },
        (error: unknown) => logger.warn('the relay after a write failed; the sweep publishes its events', { error }),
      );
    },
  };
}
