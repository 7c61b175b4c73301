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
import {
  ClientBulkWriteUnsupportedError,
  claimAndWrite,
  type NeighbourProbe,
  neighbourProbeStatement,
} from './createWrites.ts';
import { isDuplicateKeyError } from './errors.ts';
import { collections } from './indexes.ts';
import { markStripesLive, writeClaimLocks } from './locks.ts';
import { outboxEvent, storedEvent, writeOutboxEvent } from './outbox.ts';
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

/** What an order write locks: the window buckets around `draft.datetime` and one guard stripe of each referenced service. */
function claimLocks(draft: OrderDraft, window: number): { windowKeys: string[]; stripeKeys: string[] } {
  const stripe = serviceGuardStripe(draft.datetime, window);
  return {
    windowKeys: windowLockKeys(draft.datetime, window),
    stripeKeys: serviceIds(draft).map((id) => serviceGuardKey(id, stripe)),
  };
}

/**
 * Claims the window and the services for a new order and inserts it, inside the caller's
 * transaction: writes the locks (claimLocks), inserts the order, and refuses (the transaction
 * then aborts) when another order sits less than one window away (OrderWindowConflictError,
 * checked first) or a referenced service does not exist (UnknownServicesError). See
 * `windowLockKeys` and `lib/domain/serviceGuard.ts` for why writing the locks makes the checks
 * atomic.
 *
 * On MongoDB 8.0 (`clientBulkWrite`): one client bulkWrite (locks, service checks, the
 * neighbour check, the `order.created` outbox event, the insert) and nothing else unless it
 * found a neighbour: then the reads the 409 needs, in the same snapshot. Before 8.0, when every
 * guard stripe it writes is live (lib/db/locks.ts: then its services exist): the locks' update,
 * one update of orders that probes for a neighbour and upserts the order, the event's insert.
 * Otherwise the locks' update, one aggregate that reads the services and the neighbour, the
 * stripes' marking, the insert and the event's insert.
 */
async function claimAndWriteOrder(
  { client, db, features }: OrdersConnection,
  draft: OrderDraft,
  window: number,
  document: OrderDocument,
  session: ClientSession,
  clientBulkWrite: boolean,
): Promise<void> {
  const ids = serviceIds(draft);
  const { windowKeys, stripeKeys } = claimLocks(draft, window);
  // The order is written in the same command as the probe: the probe, as every read after it, excludes its id.
  const neighbourProbe = { ...conflictRange(draft.datetime, window), exceptId: draft.id };
  if (clientBulkWrite && features.clientBulkWrite) {
    const event = storedEvent('order.created', document);
    const claim = await claimAndWrite(
      client,
      db,
      { lockKeys: [...windowKeys, ...stripeKeys], serviceIds: ids, neighbourProbe, write: { insert: document }, event },
      session,
    );
    if (claim.neighbourInRange)
      await refuseConflict(draft, await ordersNear(db, draft, window, session), window, session);
    if (claim.missingServices.length > 0) throw new UnknownServicesError(claim.missingServices);
    return;
  }
  const { stripesLive } = await writeClaimLocks(db, windowKeys, stripeKeys, session);
  if (stripesLive) {
    const { neighbourInRange, inserted } = await probeAndInsertOrder(db, neighbourProbe, document, session);
    if (neighbourInRange) await refuseConflict(draft, await ordersNear(db, draft, window, session), window, session);
    if (!inserted) throw new DuplicateIdError('order', draft.id);
  } else {
    const { neighbours, services } = await neighboursAndServices(db, draft, window, ids, session);
    await refuseConflict(draft, neighbours, window, session);
    if (services.size < ids.length) throw new UnknownServicesError(ids.filter((id) => !services.has(id)));
    await markStripesLive(db, stripeKeys, session);
    await db.collection<OrderDocument>(collections.orders).insertOne(document, { session });
  }
  await writeOutboxEvent(db, storedEvent('order.created', document), session);
}

/**
 * Before 8.0, one update command of orders: whether an order other than the probe's `exceptId`
 * sits in its range (`neighbourProbeStatement`, as on 8.0), then the order's insert as an upsert on its id
 * (`$setOnInsert`: an order already stored under that id is matched, unchanged, and reported as
 * not inserted). The probe runs first, so it never sees the order being inserted.
 */
async function probeAndInsertOrder(
  db: Db,
  probe: NeighbourProbe,
  document: OrderDocument,
  session: ClientSession,
): Promise<{ neighbourInRange: boolean; inserted: boolean }> {
  const { _id, ...fields } = document;
  const result = await db
    .collection<OrderDocument>(collections.orders)
    .bulkWrite(
      [
        { updateOne: neighbourProbeStatement(probe) },
        { updateOne: { filter: { _id }, update: { $setOnInsert: fields }, upsert: true } },
      ],
      { session, ordered: true },
    );
  const inserted = result.upsertedCount === 1;
  // The upsert matched (not inserted) exactly when the id was taken; the rest is the probe's.
  return { neighbourInRange: result.matchedCount - (inserted ? 0 : 1) > 0, inserted };
}

/** A replace's first refusals, from the order it read: 404 when missing, then 412 (If-Match). */
function refuseUnlessReplaceable(
  id: string,
  order: { version: number } | undefined | null,
  precondition: VersionPrecondition | undefined,
): asserts order is { version: number } {
  if (!order) throw new NotFoundError('order', id);
  if (!satisfiesPrecondition(precondition, order.version))
    throw new PreconditionFailedError('order', id, order.version);
}

/**
 * Claims the window and the services for an existing order's new content and replaces it, inside
 * the caller's transaction, with the create's locks and refusals, after the order's own:
 * NotFoundError, then PreconditionFailedError (If-Match), then OrderWindowConflictError (the
 * order never conflicts with itself), then UnknownServicesError. Returns the order as stored.
 *
 * On MongoDB 8.0, reading first: one find reads the order itself (its version, createdAt and
 * datetime) with the neighbours of its new datetime, the refusals up to the window 409 are decided
 * from it, then one client bulkWrite writes the locks, checks the services, writes the
 * `order.moved`/`order.updated` outbox event built from what was read, and updates the order at
 * exactly the version read; then the commit. Safe because the find fixes the transaction's
 * snapshot: a create or move into the same window that commits after it has written one of the
 * same locks, so this bulkWrite's lock writes fail with a WriteConflict (retried from the find by
 * `inTransaction`), and one that committed before it is in what the find read. Before 8.0: the
 * locks' update (`writeClaimLocks`), one aggregate that reads the services, the neighbour and the
 * order, the stripes' marking when one was not live, the replace and the event's insert. Either
 * way the refusals are decided in the same snapshot as the write.
 */
async function claimAndReplaceOrder(
  { client, db, features }: OrdersConnection,
  draft: OrderDraft,
  window: number,
  now: Date,
  precondition: VersionPrecondition | undefined,
  session: ClientSession,
  clientBulkWrite: boolean,
): Promise<ReplacedOrder> {
  const ids = serviceIds(draft);
  const { windowKeys, stripeKeys } = claimLocks(draft, window);
  if (clientBulkWrite && features.clientBulkWrite) {
    const { order, neighbours } = await orderAndNeighbours(db, draft, window, session);
    refuseUnlessReplaceable(draft.id, order, precondition);
    // An edit in place has no neighbours under the rule: checked all the same, as before 8.0 (free: already read).
    await refuseConflict(draft, neighbours, window, session);
    const set = { ...withoutId(draft), updatedAt: now };
    const document: OrderDocument = { _id: draft.id, ...set, createdAt: order.createdAt, version: order.version + 1 };
    const moved = order.datetime.getTime() !== draft.datetime.getTime();
    const claim = await claimAndWrite(
      client,
      db,
      {
        lockKeys: [...windowKeys, ...stripeKeys],
        serviceIds: ids,
        write: { update: { filter: { _id: draft.id, version: order.version }, set } },
        event: storedEvent(moved ? 'order.moved' : 'order.updated', document),
      },
      session,
    );
    if (claim.missingServices.length > 0) throw new UnknownServicesError(claim.missingServices);
    // Read in this snapshot, so matched unless changed since: that is a write conflict, not a miss.
    if (!claim.update?.matched) throw new Error(`Order ${draft.id} was not at the version this transaction read`);
    return { document, moved };
  }
  const { stripesLive } = await writeClaimLocks(db, windowKeys, stripeKeys, session);
  const { neighbours, services, order } = await neighboursAndServices(db, draft, window, ids, session, draft.id);
  refuseUnlessReplaceable(draft.id, order, precondition);
  await refuseConflict(draft, neighbours, window, session);
  if (services.size < ids.length) throw new UnknownServicesError(ids.filter((id) => !services.has(id)));
  if (!stripesLive) await markStripesLive(db, stripeKeys, session);
  const document: OrderDocument = {
    _id: draft.id,
    ...withoutId(draft),
    createdAt: order.createdAt,
    updatedAt: now,
    version: order.version + 1,
  };
  await db.collection<OrderDocument>(collections.orders).replaceOne({ _id: draft.id }, document, { session });
  const moved = order.datetime.getTime() !== draft.datetime.getTime();
  await writeOutboxEvent(db, storedEvent(moved ? 'order.moved' : 'order.updated', document), session);
  return { document, moved };
}

/** What a replace needs of the order it replaces. */
type StoredOrder = Pick<OrderDocument, '_id' | 'datetime' | 'createdAt' | 'version'>;

const STORED_ORDER_FIELDS = { _id: 1, datetime: 1, createdAt: 1, version: 1 } as const;

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
 * Order `draft.id` (as this transaction sees it) and the orders less than a window from `draft`:
 * one query. Not limited, so the order itself is never cut off; the rule keeps the others to two
 * at most (a longer window configured later could leave a few more: still one small batch).
 */
async function orderAndNeighbours(
  db: Db,
  draft: OrderDraft,
  window: number,
  session: ClientSession,
): Promise<{ order: StoredOrder | undefined; neighbours: ScheduledOrder[] }> {
  const { after, before } = conflictRange(draft.datetime, window);
  const found = await db
    .collection<OrderDocument>(collections.orders)
    .find(
      { $or: [{ _id: draft.id }, { datetime: { $gt: after, $lt: before } }] },
      { session, projection: STORED_ORDER_FIELDS },
    )
    .toArray();
  return {
    order: found.find((order) => order._id === draft.id),
    neighbours: found.filter((order) => order._id !== draft.id).map(asScheduled),
  };
}

/**
 * Before 8.0, one message for the reads: the referenced services that exist, the neighbour query
 * on orders and, for a replace, the order `orderId` itself. `$facet` makes exactly one row even
 * when no service exists, for the `$lookup`s to hang on (`$lookup` because mongod refuses
 * `$unionWith` inside a transaction).
 */
async function neighboursAndServices(
  db: Db,
  draft: OrderDraft,
  window: number,
  ids: string[],
  session: ClientSession,
  orderId?: string,
): Promise<{ neighbours: ScheduledOrder[]; services: Set<string>; order?: StoredOrder }> {
  const { after, before } = conflictRange(draft.datetime, window);
  const [found] = await db
    .collection<{ _id: string }>(collections.services)
    .aggregate<{
      services: { _id: string }[];
      neighbours: Pick<OrderDocument, '_id' | 'datetime'>[];
      order?: StoredOrder[];
    }>(
      [
        { $match: { _id: { $in: ids } } },
        { $facet: { services: [{ $project: { _id: 1 } }] } },
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
        ...(orderId === undefined
          ? []
          : [
              {
                $lookup: {
                  from: collections.orders,
                  pipeline: [{ $match: { _id: orderId } }, { $project: STORED_ORDER_FIELDS }],
                  as: 'order',
                },
              },
            ]),
      ],
      { session },
    )
    .toArray();
  // $facet always makes one row; none would mean the checks below read nothing: never pass that.
  if (!found) throw new Error('The services and neighbours aggregate returned no row');
  return {
    neighbours: found.neighbours.map(asScheduled),
    services: new Set(found.services.map((service) => service._id)),
    ...(found.order?.[0] && { order: found.order[0] }),
  };
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
        await claimAndWriteOrder(current, draft, window, document, session, clientBulkWrite);
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
  return withClaimPath(current, (clientBulkWrite) =>
    inTransaction(current.client, (session) =>
      claimAndReplaceOrder(current, draft, window, now, precondition, session, clientBulkWrite),
    ),
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
 * If-Match names another version. Freeing a slot needs no window lock. A transaction so that
 * the `order.deleted` event commits with the delete.
 */
export async function deleteOrder(id: string, precondition?: VersionPrecondition): Promise<void> {
  const { client, db } = await connection();
  const orders = db.collection<OrderDocument>(collections.orders);
  await inTransaction(client, async (session) => {
    const deleted = await orders.findOneAndDelete(idAtVersion(id, precondition), {
      session,
      projection: { version: 1, createdAt: 1 },
    });
    if (!deleted) return throwMissingOrStale(orders, 'order', id, precondition, session);
    const at = new Date();
    const event = outboxEvent({
      type: 'order.deleted',
      resourceId: id,
      version: deleted.version + 1,
      since: deleted.createdAt,
      at,
    });
    await writeOutboxEvent(db, event, session);
  });
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
