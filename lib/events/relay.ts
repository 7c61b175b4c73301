import type { EventBridgeClient, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { OutboxDocument } from '#lib/db/outbox';
import { markDelivered, undeliveredHeads } from '#lib/db/outboxRepository';
import { entrySize, eventEntry } from './detail.ts';

/** PutEvents takes at most 10 entries per call. */
export const MAX_ENTRIES_PER_PUT = 10;
/** PutEvents takes at most 256 KB per call (entries counted as `entrySize` does). */
export const MAX_BYTES_PER_PUT = 256 * 1024;

/** How the relay publishes and how hard it tries. */
export interface RelayOptions {
  client: EventBridgeClient;
  busName: string;
  /** Most PutEvents batches in one run (each waits for the previous one's marks). */
  maxBatches?: number;
  /** No batch starts once this many ms have passed since the run began (a function's time limit). */
  budgetMs?: number;
  /** Most attempts at one batch's entries, counting the first. */
  maxAttempts?: number;
  /** The first retry's delay ceiling in ms; each later retry doubles it (full jitter). */
  baseDelayMs?: number;
  /** How the relay waits between attempts (tests pass one that does not). */
  sleep?: (ms: number) => Promise<void>;
}

/** What one run of the relay did. */
export interface RelayReport {
  /** Events EventBridge accepted and the outbox marks delivered. */
  published: number;
  /** Entries still refused after every attempt (left undelivered for the next run), plus failed calls. */
  failures: number;
  /** True when it stopped with events left that it may publish (a failure, or maxBatches reached). */
  incomplete: boolean;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Publishes undelivered outbox events to EventBridge, at least once and per resource in order.
 * Each batch holds only the next undelivered event of each resource (`undeliveredHeads`), so a
 * resource's version n+1 is never put before its version n was accepted and marked; entries
 * PutEvents reports failed (throttling, internal errors) and whole failed calls are tried again
 * with exponential backoff, and only accepted entries are marked delivered. A crash between the
 * put and the mark leaves the events undelivered: the next run puts them again, with the same
 * `eventId`, which is why consumers deduplicate on it.
 */
export async function relayOutbox(options: RelayOptions): Promise<RelayReport> {
  const maxBatches = options.maxBatches ?? 50;
  const startedAt = performance.now();
  const report: RelayReport = { published: 0, failures: 0, incomplete: false };
  for (let batch = 0; batch < maxBatches; batch += 1) {
    if (batch > 0 && options.budgetMs !== undefined && performance.now() - startedAt > options.budgetMs) break;
    const heads = await undeliveredHeads(MAX_ENTRIES_PER_PUT);
    if (heads.length === 0) return report;
    const { accepted, failures } = await putWithRetries(options, withinSizeLimit(heads, options.busName));
    // Marked only after the put: a crash in between leaves them undelivered, to be put again.
    await markDelivered(accepted, new Date());
    report.published += accepted.length;
    report.failures += failures;
    if (failures > 0) {
      report.incomplete = true;
      return report;
    }
  }
  report.incomplete = true;
  return report;
}

/** The longest prefix of `events` whose entries fit one PutEvents call (at least one). */
function withinSizeLimit(events: OutboxDocument[], busName: string): { id: string; entry: PutEventsRequestEntry }[] {
  const batch: { id: string; entry: PutEventsRequestEntry }[] = [];
  let bytes = 0;
  for (const event of events) {
    const entry = eventEntry(event, busName);
    bytes += entrySize(entry);
    if (batch.length > 0 && bytes > MAX_BYTES_PER_PUT) break;
    batch.push({ id: event._id, entry });
  }
  return batch;
}

/**
 * Puts `batch`, then again only the entries that failed, up to maxAttempts. Returns the ids
 * EventBridge accepted and how many entries (or calls) failed for good.
 */
async function putWithRetries(
  options: RelayOptions,
  batch: { id: string; entry: PutEventsRequestEntry }[],
): Promise<{ accepted: string[]; failures: number }> {
  const maxAttempts = options.maxAttempts ?? 4;
  const baseDelayMs = options.baseDelayMs ?? 100;
  const sleep = options.sleep ?? defaultSleep;
  // Loaded on first use (the runtime provides the SDK): a write function's cold start does not pay for it.
  const { PutEventsCommand } = await import('@aws-sdk/client-eventbridge');
  const accepted: string[] = [];
  let pending = batch;
  for (let attempt = 1; pending.length > 0; attempt += 1) {
    if (attempt > 1) await sleep(Math.random() * baseDelayMs * 2 ** (attempt - 2));
    let failed: typeof pending;
    try {
      const { Entries = [] } = await options.client.send(
        new PutEventsCommand({ Entries: pending.map((item) => item.entry) }),
      );
      // Result entries are in request order; an entry without an EventId (or with an ErrorCode) failed.
      failed = pending.filter((_, index) => {
        const result = Entries[index];
        return !result?.EventId || result.ErrorCode !== undefined;
      });
      for (const [index, item] of pending.entries()) {
        const result = Entries[index];
        if (result?.EventId && result.ErrorCode === undefined) accepted.push(item.id);
      }
    } catch {
      // The SDK has retried the call itself (throttling, network): every entry is still pending.
      failed = pending;
    }
    pending = failed;
    if (attempt >= maxAttempts) break;
  }
  return { accepted, failures: pending.length };
}
