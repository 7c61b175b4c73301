import { randomUUID } from 'node:crypto';
import type { ClientSession, Db } from 'mongodb';
import type { EventType } from '#lib/schemas/eventTypes';
import { commitScope } from './commitScope.ts';
import { collections } from './indexes.ts';
import type { OrderDocument } from './ordersRepository.ts';
import type { ServiceDocument } from './servicesRepository.ts';

/**
 * An event in the transactional outbox (`outbox_events`): written in the same transaction as the
 * change it describes, so it exists exactly when the change committed; the relay
 * (lib/events/relay.ts) publishes it and sets `deliveredAt`. The detail is rendered at publish
 * time from `document`, the resource exactly as the change stored it.
 */
export interface OutboxDocument {
  /** The event id (a UUID): stable across every delivery, consumers deduplicate on it. */
  _id: string;
  type: EventType;
  /** `order/<id>` or `service/<id>`: events of one resource are published in order. */
  resource: string;
  resourceId: string;
  /** The resource's version after the change (a delete's is one more than the deleted version). */
  version: number;
  /**
   * When the resource was created. A deleted id can be created again, starting at version 1:
   * (since, version) orders a resource's events across its lives, where version alone would not.
   */
  since: Date;
  /** When the change was made. */
  at: Date;
  /** The token's `sub` of the request that made the change; null without tokens. */
  actor: string | null;
  /** The resource as stored by the change; absent for a delete. */
  document?: OrderDocument | ServiceDocument;
  /** When EventBridge accepted it; null until then. The TTL index removes it a retention later. */
  deliveredAt: Date | null;
}

/** What a change says about itself; `outboxEvent` adds the id, the actor and the delivery state. */
export interface ChangeDescription {
  type: EventType;
  resourceId: string;
  version: number;
  since: Date;
  at: Date;
  document?: OrderDocument | ServiceDocument;
}

/** The outbox document of a change made by the current request (its actor from the commit scope). */
export function outboxEvent(change: ChangeDescription): OutboxDocument {
  const kind = change.type.slice(0, change.type.indexOf('.'));
  return {
    _id: randomUUID(),
    type: change.type,
    resource: `${kind}/${change.resourceId}`,
    resourceId: change.resourceId,
    version: change.version,
    since: change.since,
    at: change.at,
    actor: commitScope()?.actor ?? null,
    ...(change.document && { document: change.document }),
    deliveredAt: null,
  };
}

/** The event of a create or replace that stores `document`, at the version and time it stores. */
export function storedEvent(
  type: 'order.created' | 'order.moved' | 'order.updated' | 'service.created' | 'service.renamed',
  document: OrderDocument | ServiceDocument,
): OutboxDocument {
  return outboxEvent({
    type,
    resourceId: document._id,
    version: document.version,
    since: document.createdAt,
    at: document.updatedAt,
    document,
  });
}

/** Writes a change's event inside the change's transaction (one insert message). */
export async function writeOutboxEvent(db: Db, event: OutboxDocument, session: ClientSession): Promise<void> {
  await db.collection<OutboxDocument>(collections.outboxEvents).insertOne(event, { session });
}
