import type { Filter } from 'mongodb';
import { DuplicateIdError, NotFoundError, ServiceInUseError } from '#lib/domain/errors';
import { allServiceGuardKeys } from '#lib/domain/serviceGuard';
import { PreconditionFailedError, satisfiesPrecondition, type VersionPrecondition } from '#lib/domain/versions';
import { connection } from './client.ts';
import { isDuplicateKeyError } from './errors.ts';
import { collections } from './indexes.ts';
import { markStripesLive, writeLocks } from './locks.ts';
import { outboxEvent, storedEvent, writeOutboxEvent } from './outbox.ts';
import { idAtVersion, throwMissingOrStale } from './preconditions.ts';
import { inTransaction } from './transactions.ts';

/** A service record as stored. */
export interface ServiceDocument {
  _id: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

const PUBLIC_FIELDS = { _id: 1, name: 1, createdAt: 1, updatedAt: 1, version: 1 } as const;

async function servicesCollection() {
  const { db } = await connection();
  return db.collection<ServiceDocument>(collections.services);
}

/**
 * Stores a new service; DuplicateIdError when the id is taken. In one transaction with its
 * `service.created` event and a create's Idempotency-Key outcome (inTransaction), so a
 * committed create always has both and a retry replays it instead of creating again. Before
 * MongoDB 8.0 it also marks the service's guard stripes live (lib/db/locks.ts), so that orders
 * booking it need no read of the services (8.0 checks them inside its bulkWrite instead).
 */
export async function insertService(service: { id: string; name: string }, now: Date): Promise<ServiceDocument> {
  const document: ServiceDocument = { _id: service.id, name: service.name, createdAt: now, updatedAt: now, version: 1 };
  const { client, db, features } = await connection();
  try {
    return await inTransaction(client, async (session) => {
      await db.collection<ServiceDocument>(collections.services).insertOne(document, { session });
      if (!features.clientBulkWrite) await markStripesLive(db, allServiceGuardKeys(service.id), session);
      await writeOutboxEvent(db, storedEvent('service.created', document), session);
      return document;
    });
  } catch (error) {
    if (isDuplicateKeyError(error)) throw new DuplicateIdError('service', service.id);
    throw error;
  }
}

/** One service by id, or NotFoundError. */
export async function findService(id: string): Promise<ServiceDocument> {
  const found = await (await servicesCollection()).findOne({ _id: id }, { projection: PUBLIC_FIELDS });
  if (!found) throw new NotFoundError('service', id);
  return found;
}

/** Up to `limit` services with ids after `afterId`, in id order. */
export async function listServices(limit: number, afterId: string | undefined): Promise<ServiceDocument[]> {
  const filter: Filter<ServiceDocument> = afterId === undefined ? {} : { _id: { $gt: afterId } };
  return (await servicesCollection())
    .find(filter, { projection: PUBLIC_FIELDS })
    .sort({ _id: 1 })
    .limit(limit)
    .toArray();
}

/**
 * Replaces a service's name. NotFoundError when it does not exist; PreconditionFailedError
 * when `precondition` (If-Match) names a version it no longer has. A transaction so that the
 * `service.renamed` event commits with the change.
 */
export async function replaceService(
  id: string,
  name: string,
  now: Date,
  precondition?: VersionPrecondition,
): Promise<ServiceDocument> {
  const { client, db } = await connection();
  const services = db.collection<ServiceDocument>(collections.services);
  return inTransaction(client, async (session) => {
    const updated = await services.findOneAndUpdate(
      idAtVersion(id, precondition),
      { $set: { name, updatedAt: now }, $inc: { version: 1 } },
      { returnDocument: 'after', projection: PUBLIC_FIELDS, session },
    );
    if (!updated) return throwMissingOrStale(services, 'service', id, precondition, session);
    await writeOutboxEvent(db, storedEvent('service.renamed', updated), session);
    return updated;
  });
}

/**
 * Deletes a service unless an order references it (ServiceInUseError).
 * After finding no reference in its snapshot, the transaction writes every guard stripe of the
 * service (lib/domain/serviceGuard.ts), which also un-marks any live one (lib/db/locks.ts).
 * Every order write referencing the service writes one of them, so a concurrent order that adds a
 * reference and this delete cannot both commit: the loser retries on a fresh snapshot and sees the
 * reference (409) or the missing service (422).
 */
export async function deleteService(id: string, precondition?: VersionPrecondition): Promise<void> {
  const { client, db } = await connection();
  await inTransaction(client, async (session) => {
    const current = await db
      .collection<ServiceDocument>(collections.services)
      .findOne({ _id: id }, { session, projection: { version: 1, createdAt: 1 } });
    if (!current) throw new NotFoundError('service', id);
    if (!satisfiesPrecondition(precondition, current.version)) {
      throw new PreconditionFailedError('service', id, current.version);
    }
    // Read first: a referenced (popular) service answers 409 without writing any guard.
    const referencing = await db
      .collection<{ _id: string }>(collections.orders)
      .findOne({ 'services.id': id }, { session, projection: { _id: 1 } });
    if (referencing) throw new ServiceInUseError(id, referencing._id);
    await writeLocks(db, allServiceGuardKeys(id), session);
    const { deletedCount } = await db
      .collection<ServiceDocument>(collections.services)
      .deleteOne({ _id: id }, { session });
    if (deletedCount === 0) throw new NotFoundError('service', id);
    const event = outboxEvent({
      type: 'service.deleted',
      resourceId: id,
      version: current.version + 1,
      since: current.createdAt,
      at: new Date(),
    });
    await writeOutboxEvent(db, event, session);
  });
}
