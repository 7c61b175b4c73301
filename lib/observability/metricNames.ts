/**
 * The API's own CloudWatch metrics (embedded metric format, written by Powertools Metrics): one
 * name per outcome an operator acts on. serverless.yml's alarms and dashboard read these names and
 * tests/deploy checks that every name they use is listed here, so this list is the one source.
 * Every metric is a Count (OutboxOldestEventAge: Seconds) with only the default `service`
 * dimension (no ids, no routes): an alarm then reads one series per stage. Cold starts are Powertools' own `ColdStart` metric, which adds
 * a `function_name` dimension.
 */
export const METRIC = {
  /** A 201 from POST /orders (a replayed answer is counted as IdempotentReplay instead). */
  orderCreated: 'OrderCreated',
  /** A 200 from PUT /orders/{id} that changed the order's datetime. */
  orderMoved: 'OrderMoved',
  /** A 200 from PUT /orders/{id} that kept the datetime (fee or services changed). */
  orderUpdated: 'OrderUpdated',
  /** A 204 from DELETE /orders/{id}. */
  orderDeleted: 'OrderDeleted',
  /** A 201 from POST /services. */
  serviceCreated: 'ServiceCreated',
  /** A 200 from PUT /services/{id}. */
  serviceUpdated: 'ServiceUpdated',
  /** A 204 from DELETE /services/{id}. */
  serviceDeleted: 'ServiceDeleted',
  /** A 409 `/problems/order-window-conflict`: the 3-hour rule refused a create or a move. */
  orderWindowConflict: 'OrderWindowConflict',
  /** A 503 `/problems/write-contention`: concurrent writes kept conflicting past the retry budget. */
  writeContention: 'WriteContention',
  /** A 503 saying the database cannot be reached (no primary, connection refused, pool limit). */
  databaseUnavailable: 'DatabaseUnavailable',
  /** A 503 `/problems/deadline-exceeded`: answered before the function's time limit. */
  deadlineExceeded: 'DeadlineExceeded',
  /** An answer replayed for a repeated Idempotency-Key. */
  idempotentReplay: 'IdempotentReplay',
  /** Any 400 `/problems/validation-error` (or malformed JSON), one count for all fields. */
  validationFailed: 'ValidationFailed',
  /** A 500: a bug, never a client's doing. */
  unexpectedError: 'UnexpectedError',
  /**
   * Outbox events the scheduled sweep published: those the fast path after each write did not
   * (a frozen or crashed function, a throttled put). Mostly 0; the fast path counts nothing.
   */
  eventsSwept: 'EventsSwept',
  /** Per sweep: events PutEvents still refused after the relay's retries, plus 1 for a sweep that failed outright. */
  eventRelayFailures: 'EventRelayFailures',
  /** Seconds since the oldest undelivered outbox event's change (0 when none): the sweep reports it each run. */
  outboxOldestEventAge: 'OutboxOldestEventAge',
} as const;

/** One of the API's metric names. */
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** The namespace when the stage sets none (serverless.yml's `metricsNamespace` stage setting). */
export const DEFAULT_METRICS_NAMESPACE = 'OrderManagementApi';

/**
 * What a result may carry when its route's one success metric (lib/http/routes.ts) does not say
 * which outcome it was: PUT /orders/{id} names OrderMoved or OrderUpdated. Never sent to clients.
 */
export interface CountedOutcome {
  metric?: MetricName;
}
