import {
  type AnyClientBulkWriteModel,
  type ClientBulkWriteModel,
  type ClientSession,
  type Db,
  type MongoClient,
  MongoClientBulkWriteError,
  MongoServerError,
} from 'mongodb';
import { DuplicateIdError } from '#lib/domain/errors';
import { collections } from './indexes.ts';
import type { OutboxDocument } from './outbox.ts';

/** MongoDB's CommandNotFound: a server older than 8.0 has no `bulkWrite` admin command. */
const COMMAND_NOT_FOUND = 59;

/** The documents a claim writes: keyed by string ids, otherwise any shape (the driver types fields loosely too). */
// biome-ignore lint/suspicious/noExplicitAny: the driver's Document is an any-valued record; unknown breaks its update operator types.
type KeyedDocument = { _id: string; [field: string]: any };

/** The order write that ends a claim's bulkWrite: a create's insert or a replace's update. */
export type OrderWrite<T extends { _id: string }> = { insert: T } | { update: OrderUpdate };

/**
 * A replace (PUT) as an update of the order at the exact version the transaction read it at: it
 * gets `set` and its version incremented, createdAt stays as stored. Filtered on that version, the
 * update and an event built from the same read cannot disagree on the version (a change committed
 * since the read is a write conflict, never a silent miss: see `claimAndReplaceOrder`).
 */
export interface OrderUpdate {
  filter: { _id: string; version: number };
  set: { datetime: Date } & Record<string, unknown>;
}

/** What the claim's bulkWrite found out, besides making its writes. */
export interface ClaimOutcome {
  /** The referenced services the snapshot does not hold (the caller refuses with 422). */
  missingServices: string[];
  /** For an update: whether it matched the order at the version read. */
  update?: { matched: boolean };
  /** With a `neighbourProbe`: whether the snapshot holds an order in its range other than its `exceptId`. */
  neighbourInRange?: boolean;
}

/**
 * The orders a claim must find none of: strictly between `after` and `before`, other than
 * `exceptId`, the order being written (its insert comes after the probe; an order already stored
 * under that id is the insert's duplicate-id error, not a neighbour, as in the 7.0 path's read).
 */
export interface NeighbourProbe {
  after: Date;
  before: Date;
  exceptId: string;
}

/** Raised when the server has no client `bulkWrite` (59): the caller falls back to the 7.0 path. */
export class ClientBulkWriteUnsupportedError extends Error {
  constructor(cause: unknown) {
    super('The server has no bulkWrite command', { cause });
    this.name = 'ClientBulkWriteUnsupportedError';
  }
}

/**
 * MongoDB 8.0's one-message claim, inside the caller's transaction: one client `bulkWrite`
 * (ordered) that writes the window locks and one guard stripe of each service (upserts, as
 * `writeLocks` does), checks each referenced service by an update that can never change it
 * (`$setOnInsert` without upsert: matched 1 or 0, no write, so orders booking one service never
 * serialise on its document; it is the snapshot read the 7.0 path does with `find`), with a
 * `neighbourProbe` checks the same way whether an order sits in its range (an `updateOne` matches
 * at most one: the answer is yes or no, in the snapshot the locks were written in), then writes
 * the change's outbox event when it has one (lib/db/outbox.ts: it rides in the same message),
 * then writes the order. Returns the referenced services the snapshot does not hold (the caller
 * aborts with 422: the stripes make it safe against a concurrent delete exactly as on 7.0). A
 * replace reads the order first, so its update needs no probe of its own (the caller knows a move
 * from an edit in place by the datetime it read).
 *
 * The driver wraps a server error (a WriteConflict's TransientTransactionError label, 59) in a
 * MongoClientBulkWriteError whose `cause` holds it: the cause is rethrown so that the
 * transaction's retry sees the label. A duplicate order id is the order write's write error.
 */
export async function claimAndWrite<T extends { _id: string }>(
  client: MongoClient,
  db: Db,
  claim: {
    lockKeys: readonly string[];
    serviceIds: readonly string[];
    neighbourProbe?: NeighbourProbe;
    write: OrderWrite<T>;
    event?: OutboxDocument;
  },
  session: ClientSession,
): Promise<ClaimOutcome> {
  const locks = `${db.databaseName}.${collections.windowLocks}` as const;
  const services = `${db.databaseName}.${collections.services}` as const;
  const orders = `${db.databaseName}.${collections.orders}` as const;
  const outbox = `${db.databaseName}.${collections.outboxEvents}` as const;
  const models: ClientBulkWriteModel<Record<string, KeyedDocument>>[] = [
    ...claim.lockKeys.map(
      (key): AnyClientBulkWriteModel<KeyedDocument> => ({
        namespace: locks,
        name: 'updateOne',
        filter: { _id: key },
        update: { $inc: { writes: 1 } },
        upsert: true,
      }),
    ),
    ...claim.serviceIds.map(
      (id): AnyClientBulkWriteModel<KeyedDocument> => ({
        namespace: services,
        name: 'updateOne',
        filter: { _id: id },
        update: { $setOnInsert: { _id: id } },
        upsert: false,
      }),
    ),
    ...(claim.neighbourProbe
      ? [{ namespace: orders, name: 'updateOne' as const, ...neighbourProbeStatement(claim.neighbourProbe) }]
      : []),
    // Before the order's model, which stays last (its index names a duplicate id's write error).
    ...(claim.event ? [outboxModel(outbox, claim.event)] : []),
    orderModel(orders, claim.write),
  ];
  const firstServiceIndex = claim.lockKeys.length;
  const neighbourIndex = firstServiceIndex + claim.serviceIds.length;
  // The order's write is the last model, after the neighbour probe and the event's insert when there are.
  const orderIndex = models.length - 1;
  try {
    const result = await client.bulkWrite<Record<string, KeyedDocument>>(models, {
      session,
      ordered: true,
      verboseResults: true,
    });
    const matched = (index: number) => (result.updateResults?.get(index)?.matchedCount ?? 0) > 0;
    return {
      missingServices: claim.serviceIds.filter((_, index) => !matched(firstServiceIndex + index)),
      ...(claim.neighbourProbe && { neighbourInRange: matched(neighbourIndex) }),
      ...('update' in claim.write && { update: { matched: matched(orderIndex) } }),
    };
  } catch (error) {
    throw unwrapped(error, 'insert' in claim.write ? { index: orderIndex, id: claim.write.insert._id } : undefined);
  }
}

/**
 * Whether an order other than `exceptId` sits strictly inside the range: an update that can never
 * change what it matches (`$setOnInsert` without upsert), so it reads without writing and two
 * creates probing the same neighbour never conflict on it (the window locks make them conflict).
 * Its matched count (0 or 1) is the answer. The 8.0 claim sends it as a client bulkWrite model,
 * the 7.0 create as a statement of its update of orders.
 */
export function neighbourProbeStatement(probe: NeighbourProbe) {
  return {
    filter: { datetime: { $gt: probe.after, $lt: probe.before }, _id: { $ne: probe.exceptId } },
    update: { $setOnInsert: { _id: probe.exceptId } },
    upsert: false,
  };
}

/** The outbox event's insert. */
function outboxModel(namespace: `${string}.${string}`, event: OutboxDocument): AnyClientBulkWriteModel<KeyedDocument> {
  return { namespace, name: 'insertOne', document: { ...event } };
}

/**
 * The order's insert, or its update at the version read. Its document type is the repository's;
 * the driver's models take any Document.
 */
function orderModel<T extends { _id: string }>(
  namespace: `${string}.${string}`,
  write: OrderWrite<T>,
): AnyClientBulkWriteModel<KeyedDocument> {
  if ('insert' in write) return { namespace, name: 'insertOne', document: { ...write.insert } };
  const { filter, set } = write.update;
  return { namespace, name: 'updateOne', filter, update: { $set: set, $inc: { version: 1 } }, upsert: false };
}

function unwrapped(error: unknown, insert: { index: number; id: string } | undefined): unknown {
  if (!(error instanceof MongoClientBulkWriteError)) return error;
  const cause = error.cause;
  if (cause instanceof MongoServerError) {
    return cause.code === COMMAND_NOT_FOUND ? new ClientBulkWriteUnsupportedError(cause) : cause;
  }
  if (insert && error.writeErrors.get(insert.index)?.code === 11000) return new DuplicateIdError('order', insert.id);
  return error;
}
