import type { ClientSession, Filter } from 'mongodb';
import { DuplicateIdError, NotFoundError, ServiceInUseError, UnknownServicesError } from '#lib/domain/errors';
import { PreconditionFailedError, satisfiesPrecondition, type VersionPrecondition } from '#lib/domain/versions';
import { connection } from './client.ts';
import { isDuplicateKeyError } from './errors.ts';
import { collections } from './indexes.ts';
import { idAtVersion, throwMissingOrStale } from './preconditions.ts';
import { inTransaction } from './transactions.ts';

/** A service record as stored. */
export interface ServiceDocument {
  _id: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
  version: number;
  /** Bumped by every order write that references the service; see `touchReferencedServices`. */
  referenceWrites?: number;
}

const PUBLIC_FIELDS = { _id: 1, name: 1, createdAt: 1, updatedAt: 1, version: 1 } as const;

async function servicesCollection() {
  const { db } = await connection();
  return db.collection<ServiceDocument>(collections.services);
}

/** Stores a new service; DuplicateIdError when the id is taken. */
export async function insertService(service: { id: string; name: string }, now: Date): Promise<ServiceDocument> {
  const document: ServiceDocument = { _id: service.id, name: service.name, createdAt: now, updatedAt: now, version: 1 };
  try {
    await (await servicesCollection()).insertOne(document);
  } catch (error) {
    if (isDuplicateKeyError(error)) throw new DuplicateIdError('service', service.id);
    throw error;
  }
  return document;
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
 * when `precondition` (If-Match) names a version it no longer has.
 */
export async function replaceService(
  id: string,
  name: string,
  now: Date,
  precondition?: VersionPrecondition,
): Promise<ServiceDocument> {
  const services = await servicesCollection();
  const updated = await services.findOneAndUpdate(
    idAtVersion(id, precondition),
    { $set: { name, updatedAt: now }, $inc: { version: 1 } },
    { returnDocument: 'after', projection: PUBLIC_FIELDS },
  );
  if (updated) return updated;
  return throwMissingOrStale(services, 'service', id);
}

/**
 * Deletes a service unless an order references it (ServiceInUseError).
 * The check and the delete share a transaction whose delete writes the service document,
 * the same document every order write referencing it bumps, so a concurrent order that
 * adds a reference and this delete cannot both commit.
 */
export async function deleteService(id: string, precondition?: VersionPrecondition): Promise<void> {
  const { client, db } = await connection();
  await inTransaction(client, async (session) => {
    const current = await db
      .collection<ServiceDocument>(collections.services)
      .findOne({ _id: id }, { session, projection: { version: 1 } });
    if (!current) throw new NotFoundError('service', id);
    if (!satisfiesPrecondition(precondition, current.version)) {
      throw new PreconditionFailedError('service', id, current.version);
    }
    const referencing = await db
      .collection<{ _id: string }>(collections.orders)
      .findOne({ 'services.id': id }, { session, projection: { _id: 1 } });
    if (referencing) throw new ServiceInUseError(id, referencing._id);
    const { deletedCount } = await db
      .collection<ServiceDocument>(collections.services)
      .deleteOne({ _id: id }, { session });
    if (deletedCount === 0) throw new NotFoundError('service', id);
  });
}

/**
 * Inside an order's transaction: checks that every referenced service exists and writes
 * each of them (a counter bump), so that a concurrent `deleteService` conflicts with this
 * transaction instead of leaving the order pointing at a deleted service.
 */
export async function touchReferencedServices(ids: string[], session: ClientSession): Promise<void> {
  const { db } = await connection();
  const services = db.collection<ServiceDocument>(collections.services);
  const { matchedCount } = await services.updateMany(
    { _id: { $in: ids } },
    { $inc: { referenceWrites: 1 } },
    { session },
  );
  if (matchedCount === ids.length) return;
  const found = await services.find({ _id: { $in: ids } }, { session, projection: { _id: 1 } }).toArray();
  const existing = new Set(found.map((service) => service._id));
  throw new UnknownServicesError(ids.filter((id) => !existing.has(id)));
}
