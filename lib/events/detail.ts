import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { orderRepresentation, serviceRepresentation } from '#lib/app/representations';
import type { OrderDocument } from '#lib/db/ordersRepository';
import type { OutboxDocument } from '#lib/db/outbox';
import type { ServiceDocument } from '#lib/db/servicesRepository';
import type { EventDetail } from '#lib/schemas/events';
import { EVENT_SOURCE, resourceKindOf } from '#lib/schemas/eventTypes';

/**
 * An outbox event's detail (lib/schemas/events.ts): the resource rendered by the same function
 * as the API's answer, from the document the change stored.
 */
export function eventDetail(event: OutboxDocument): EventDetail {
  const common = {
    eventId: event._id,
    type: event.type,
    resourceId: event.resourceId,
    version: event.version,
    resourceCreatedAt: event.since.toISOString(),
    time: event.at.toISOString(),
    actor: event.actor,
  };
  const document = event.document;
  if (!document) return common as EventDetail;
  return (
    resourceKindOf(event.type) === 'order'
      ? { ...common, order: orderRepresentation(document as OrderDocument) }
      : { ...common, service: serviceRepresentation(document as ServiceDocument) }
  ) as EventDetail;
}

/**
 * The PutEvents entry of an outbox event. EventBridge gives an entry no id a consumer can rely
 * on (the EventId it answers is its own, new on each put): the stable id is the detail's `eventId`.
 */
export function eventEntry(event: OutboxDocument, busName: string): PutEventsRequestEntry {
  return {
    EventBusName: busName,
    Source: EVENT_SOURCE,
    DetailType: event.type,
    Time: event.at,
    Detail: JSON.stringify(eventDetail(event)),
  };
}

/**
 * An entry's size as EventBridge counts it toward the 256 KB PutEvents limit: the UTF-8 bytes of
 * Source, DetailType, Detail and Resources, plus 14 for Time.
 */
export function entrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time ? 14 : 0;
  for (const text of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])]) {
    if (text) size += Buffer.byteLength(text, 'utf8');
  }
  return size;
}
