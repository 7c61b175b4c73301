import type { ClientSession, Db, Filter } from 'mongodb';
import { DuplicateIdError, NotFoundError, UnknownServicesError } from '#lib/domain/errors';
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
import { ClientBulkWriteUnsupportedError, claimAndWrite, type OrderWrite } from './createWrites.ts';
import { isDuplicateKeyError } from './errors.ts';
import { collections } from './indexes.ts';
import { writeLocks } from './locks.ts';
import { idAtVersion, throwMissingOrStale } from './preconditions.ts';
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

type OrdersConnection = Awaited<ReturnType<typeof connection>>;

/**
 * Claims the window and the services for `draft` and makes `write` (its insert or replace),
 * inside the caller's transaction: locks the window buckets around `draft.datetime` and one
 * guard stripe of each referenced service, writes the order, and refuses (the transaction then
 * aborts) when another order (other than `draft.id`) sits less than one window away
 * (OrderWindowConflictError, checked first) or a referenced service does not exist
 * (UnknownServicesError). See `windowLockKeys` and `lib/domain/serviceGuard.ts` for why writing
 * the locks makes the checks atomic.
 *
 * On MongoDB 8.0 (`clientBulkWrite`): one client bulkWrite (locks, service checks, the order
 * write) and the neighbour find. Before 8.0: the locks' bulkWrite, one aggregate that reads the
 * services and the neighbour, and the order write.
 */
async function claimAndWriteOrder(
  { client, db, features }: OrdersConnection,
  draft: OrderDraft,
  window: number,
  write: OrderWrite<OrderDocument>,
  session: ClientSession,
  clientBulkWrite: boolean,
): Promise<void> {
  const stripe = serviceGuardStripe(draft.datetime, window);
  const ids = serviceIds(draft);
  const lockKeys = [...windowLockKeys(draft.datetime, window), ...ids.map((id) => serviceGuardKey(id, stripe))];
  if (clientBulkWrite && features.clientBulkWrite) {
    const missing = await claimAndWrite(client, db, { lockKeys, serviceIds: ids, write }, session);
    // The order is written: the neighbour query excludes its id, as it does for a move.
    const neighbours = await ordersNear(db, draft, window, session);
    await refuseConflict(draft, neighbours, window, session);
    if (missing.length > 0) throw new UnknownServicesError(missing);
    return;
  }
  await writeLocks(db, lockKeys, session);
  const { neighbours, services } = await neighboursAndServices(db, draft, window, ids, session);
  await refuseConflict(draft, neighbours, window, session);
  if (services.size < ids.length) throw new UnknownServicesError(ids.filter((id) => !services.has(id)));
  const orders = db.collection<OrderDocument>(collections.orders);
  if ('insert' in write) await orders.insertOne(write.insert, { session });
  else await orders.replaceOne({ _id: draft.id }, write.replace, { session });
}

/** The nearest order (at most one) less than a window from `draft`, other than `draft.id` itself. */
async function ordersNear(db: Db, draft: OrderDraft, window: number, session: ClientSession) {
  const { after, before } = conflictRange(draft.datetime, window);
  const neighbours = await db
    .collection<OrderDocument>(collections.orders)
    .find(
      { datetime: { $gt: after, $lt: before }, _id: { $ne: draft.id } },
      { session, projection: { _id: 1, datetime: 1 } },
    )
    .limit(1)
    .toArray();
  return neighbours.map(asScheduled);
}

/**
 * Before 8.0, one message for both reads: the referenced services that exist and, through a
 * `$lookup` from their (grouped) row, the neighbour query on orders. `$lookup` because mongod
 * refuses `$unionWith` inside a transaction. When none of the services exists there is no row to
 * look up from: the neighbour query is then a message of its own (a 409 still takes precedence
 * over the 422).
 */
async function neighboursAndServices(
  db: Db,
  draft: OrderDraft,
  window: number,
  ids: string[],
  session: ClientSession,
): Promise<{ neighbours: ScheduledOrder[]; services: Set<string> }> {
  const { after, before } = conflictRange(draft.datetime, window);
  const [found] = await db
    .collection<{ _id: string }>(collections.services)
    .aggregate<{ services: string[]; neighbours: Pick<OrderDocument, '_id' | 'datetime'>[] }>(
      [
        { $match: { _id: { $in: ids } } },
        { $group: { _id: null, services: { $push: '$_id' } } },
        {
          $lookup: {
            from: collections.orders,
            pipeline: [
              { $match: { datetime: { $gt: after, $lt: before }, _id: { $ne: draft.id } } },
              { $limit: 1 },
              { $project: { _id: 1, datetime: 1 } },
            ],
            as: 'neighbours',
          },
        },
      ],
      { session },
    )
    .toArray();
  if (!found) return { neighbours: await ordersNear(db, draft, window, session), services: new Set() };
  return { neighbours: found.neighbours.map(asScheduled), services: new Set(found.services) };
}

/** Throws OrderWindowConflictError when a neighbour is too close, with the nearest free datetimes. */
async function refuseConflict(
  draft: OrderDraft,
  neighbours: ScheduledOrder[],
  window: number,
  session: ClientSession,
): Promise<void> {
  const conflict = findConflict(draft, neighbours, window);
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

/**
 * Runs an order's transaction on the 8.0 path when the server has it, else on the 7.0 path. An
 * 8.0 attempt that meets CommandNotFound (an older server after all) or a duplicate id (whose
 * write error ends the bulkWrite before the window and service checks, which take precedence)
 * is run again on the 7.0 path, so every refusal is the one it is today.
 */
async function withClaimPath<T>(current: OrdersConnection, run: (clientBulkWrite: boolean) => Promise<T>): Promise<T> {
  if (!current.features.clientBulkWrite) return run(false);
  try {
    return await run(true);
  } catch (error) {
    if (error instanceof ClientBulkWriteUnsupportedError) current.features.clientBulkWriteRefused();
    else if (!(error instanceof DuplicateIdError)) throw error;
    return run(false);
  }
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
  const current = await connection();
  const document: OrderDocument = { _id: draft.id, ...withoutId(draft), createdAt: now, updatedAt: now, version: 1 };
  try {
    // What the transaction returns is what the answer is rendered from (a retry of a committed
    // create gets it again from its Idempotency-Key: see inTransaction).
    return await withClaimPath(current, (clientBulkWrite) =>
      inTransaction(current.client, async (session) => {
        await claimAndWriteOrder(current, draft, window, { insert: document }, session, clientBulkWrite);
        return document;
      }),
    );
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
  const current = await connection();
  const orders = current.db.collection<OrderDocument>(collections.orders);
  return withClaimPath(current, (clientBulkWrite) =>
    inTransaction(current.client, async (session) => {
      const existing = await orders.findOne(
        { _id: draft.id },
        { session, projection: { createdAt: 1, version: 1, datetime: 1 } },
      );
      if (!existing) throw new NotFoundError('order', draft.id);
      if (!satisfiesPrecondition(precondition, existing.version)) {
        throw new PreconditionFailedError('order', draft.id, existing.version);
      }
      const replacement: OrderDocument = {
        _id: draft.id,
        ...withoutId(draft),
        createdAt: existing.createdAt,
        updatedAt: now,
        version: existing.version + 1,
      };
      await claimAndWriteOrder(current, draft, window, { replace: replacement }, session, clientBulkWrite);
      return { document: replacement, moved: existing.datetime.getTime() !== draft.datetime.getTime() };
    }),
  );
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
  await throwMissingOrStale(orders, 'order', id, precondition);
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
