import type { ClientSession, Db, Filter } from 'mongodb';
import { DuplicateIdError, NotFoundError } from '#lib/domain/errors';
import {
  conflictRange,
  findConflict,
  nearestAvailable,
  nearestSearchSpan,
  OrderWindowConflictError,
  type ScheduledOrder,
  windowLockKeys,
} from '#lib/domain/orderWindow';
import type { PagePosition } from '#lib/domain/pageCursor';
import { serviceGuardKey, serviceGuardStripe } from '#lib/domain/serviceGuard';
import { PreconditionFailedError, satisfiesPrecondition, type VersionPrecondition } from '#lib/domain/versions';
import { connection } from './client.ts';
import { isDuplicateKeyError } from './errors.ts';
import { collections } from './indexes.ts';
import { writeLocks } from './locks.ts';
import { idAtVersion, throwMissingOrStale } from './preconditions.ts';
import { assertServicesExist } from './servicesRepository.ts';
import { inTransaction } from './transactions.ts';

/** An order as stored. */
export interface OrderDocument {
  _id: string;
  datetime: Date;
  totalfee: number;
  services: { id: string }[];
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

/** What a create or a replace sets: everything but the timestamps and version. */
export interface OrderDraft {
  id: string;
  datetime: Date;
  totalfee: number;
  services: { id: string }[];
}

/**
 * Locks the window buckets around `datetime` and one guard stripe of each referenced service
 * (one bulkWrite, one round trip), then refuses the write if another order (other than
 * `draft.id`) sits less than one window away, or a referenced service does not exist. Runs
 * inside the caller's transaction; see `windowLockKeys` and `lib/domain/serviceGuard.ts` for
 * why writing the locks makes the checks atomic.
 */
async function claimWindow(db: Db, draft: OrderDraft, window: number, session: ClientSession): Promise<void> {
  const stripe = serviceGuardStripe(draft.datetime, window);
  const keys = [
    ...windowLockKeys(draft.datetime, window),
    ...serviceIds(draft).map((id) => serviceGuardKey(id, stripe)),
  ];
  await writeLocks(db, keys, session);
  const { after, before } = conflictRange(draft.datetime, window);
  const neighbours = await db
    .collection<OrderDocument>(collections.orders)
    .find(
      { datetime: { $gt: after, $lt: before }, _id: { $ne: draft.id } },
      { session, projection: { _id: 1, datetime: 1 } },
    )
    .limit(1)
    .toArray();
  const conflict = findConflict(draft, neighbours.map(asScheduled), window);
  if (!conflict) return;
  // Same transaction, same snapshot: the suggestion is consistent with the refusal.
  const span = nearestSearchSpan(window) + window;
  const around = await scheduledOrdersBetween(
    new Date(draft.datetime.getTime() - span),
    new Date(draft.datetime.getTime() + span),
    session,
  );
  throw new OrderWindowConflictError(conflict.id, window, nearestAvailable(draft, around, window));
}

function asScheduled(order: Pick<OrderDocument, '_id' | 'datetime'>): ScheduledOrder {
  return { id: order._id, datetime: order.datetime };
}

/** Orders come at least one window apart, so a bounded range holds few: one batch reads them all. */
const SCHEDULE_BATCH_SIZE = 1_000;

/**
 * The id and datetime of every order strictly between `after` and `before`: one range query on
 * the (datetime, _id) index, covered by it. Inside a transaction when `session` is given.
 */
export async function scheduledOrdersBetween(
  after: Date,
  before: Date,
  session?: ClientSession,
): Promise<ScheduledOrder[]> {
  const { db } = await connection();
  const orders = await db
    .collection<OrderDocument>(collections.orders)
    .find(
      { datetime: { $gt: after, $lt: before } },
      { ...(session && { session }), projection: { _id: 1, datetime: 1 }, batchSize: SCHEDULE_BATCH_SIZE },
    )
    .toArray();
  return orders.map(asScheduled);
}

function serviceIds(draft: OrderDraft): string[] {
  return draft.services.map((service) => service.id);
}

/**
 * Stores a new order if it keeps every pair of orders at least one window apart.
 * Throws OrderWindowConflictError, UnknownServicesError or DuplicateIdError.
 */
export async function insertOrder(draft: OrderDraft, window: number, now: Date): Promise<OrderDocument> {
  const { client, db } = await connection();
  const document: OrderDocument = { _id: draft.id, ...withoutId(draft), createdAt: now, updatedAt: now, version: 1 };
  try {
    // What the transaction returns is what the answer is rendered from (a retry of a committed
    // create gets it again from its Idempotency-Key: see inTransaction).
    return await inTransaction(client, async (session) => {
      await claimWindow(db, draft, window, session);
      await assertServicesExist(serviceIds(draft), session);
      await db.collection<OrderDocument>(collections.orders).insertOne(document, { session });
      return document;
    });
  } catch (error) {
    if (isDuplicateKeyError(error)) throw new DuplicateIdError('order', draft.id);
    throw error;
  }
}

/** An order as a replace stored it, and whether the replace moved it to another datetime. */
export interface ReplacedOrder {
  document: OrderDocument;
  moved: boolean;
}

/**
 * Replaces an existing order (PUT) under the same rule; the order never conflicts with itself.
 * Throws NotFoundError, PreconditionFailedError, OrderWindowConflictError or UnknownServicesError.
 */
export async function replaceOrder(
  draft: OrderDraft,
  window: number,
  now: Date,
  precondition?: VersionPrecondition,
): Promise<ReplacedOrder> {
  const { client, db } = await connection();
  const orders = db.collection<OrderDocument>(collections.orders);
  return inTransaction(client, async (session) => {
    const existing = await orders.findOne(
      { _id: draft.id },
      { session, projection: { createdAt: 1, version: 1, datetime: 1 } },
    );
    if (!existing) throw new NotFoundError('order', draft.id);
    if (!satisfiesPrecondition(precondition, existing.version)) {
      throw new PreconditionFailedError('order', draft.id, existing.version);
    }
    await claimWindow(db, draft, window, session);
    await assertServicesExist(serviceIds(draft), session);
    const replacement: OrderDocument = {
      _id: draft.id,
      ...withoutId(draft),
      createdAt: existing.createdAt,
      updatedAt: now,
      version: existing.version + 1,
    };
    await orders.replaceOne({ _id: draft.id }, replacement, { session });
    return { document: replacement, moved: existing.datetime.getTime() !== draft.datetime.getTime() };
  });
}

/** One order by id, or NotFoundError. */
export async function findOrder(id: string): Promise<OrderDocument> {
  const { db } = await connection();
  const found = await db.collection<OrderDocument>(collections.orders).findOne({ _id: id });
  if (!found) throw new NotFoundError('order', id);
  return found;
}

/**
 * Deletes an order; NotFoundError when it does not exist, PreconditionFailedError when
 * If-Match names another version. Freeing a slot needs no window lock.
 */
export async function deleteOrder(id: string, precondition?: VersionPrecondition): Promise<void> {
  const { db } = await connection();
  const orders = db.collection<OrderDocument>(collections.orders);
  const { deletedCount } = await orders.deleteOne(idAtVersion(id, precondition));
  if (deletedCount === 1) return;
  await throwMissingOrStale(orders, 'order', id);
}

/** Filter and position of one page of orders. */
export interface OrderPageRequest {
  limit: number;
  from?: Date;
  to?: Date;
  after?: PagePosition & { at: number };
}

/**
 * Up to `limit` orders in (datetime, id) order, within [from, to), strictly after `after`.
 * The filter leads with a range on datetime so the (datetime, _id) index answers it.
 */
export async function listOrders(page: OrderPageRequest): Promise<OrderDocument[]> {
  const { db } = await connection();
  const datetime: { $gte?: Date; $lt?: Date } = {};
  const lowest = Math.max(page.from?.getTime() ?? Number.NEGATIVE_INFINITY, page.after?.at ?? Number.NEGATIVE_INFINITY);
  if (Number.isFinite(lowest)) datetime.$gte = new Date(lowest);
  if (page.to) datetime.$lt = page.to;
  const filter: Filter<OrderDocument> = Object.keys(datetime).length > 0 ? { datetime } : {};
  if (page.after) filter.$nor = [{ datetime: new Date(page.after.at), _id: { $lte: page.after.id } }];
  return db
    .collection<OrderDocument>(collections.orders)
    .find(filter)
    .sort({ datetime: 1, _id: 1 })
    .limit(page.limit)
    .toArray();
}

function withoutId(draft: OrderDraft): Omit<OrderDraft, 'id'> {
  return { datetime: draft.datetime, totalfee: draft.totalfee, services: draft.services };
}
