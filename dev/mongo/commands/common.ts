/** Helpers shared by the CRUD handlers. */
import { calculateObjectSize, serialize } from 'bson';
import { aggregate } from 'mingo';
import { Query } from 'mingo/query';
import { type Collation, parseCollation } from '../bson/collation.ts';
import { MongoCommandError, writeConflict } from '../bson/errors.ts';
import { MAX_BSON_OBJECT_SIZE } from '../bson/limits.ts';
import { mingoDefaultContext, sharedOptions } from '../bson/mingo-options.ts';
import { refuseUncollatedProjection } from '../query/collated-ops.ts';
import { inProjectionOrder } from '../query/field-order.ts';
import { checkProjection } from '../query/pipeline-validation.ts';
import type { Doc } from '../storage/engine.ts';
import { type Collection, checkCollectionName, LockWait } from '../storage/engine.ts';
import type { CommandContext } from './types.ts';
import { rejectWriteTo } from './write-rules.ts';

/** The collection named by the command's first field (a string), validated. */
export function collectionName(ctx: CommandContext): string {
  const name = ctx.cmd[ctx.name];
  if (typeof name !== 'string') {
    throw new MongoCommandError(73, `collection name has invalid type ${name === null ? 'null' : typeof name}`);
  }
  checkCollectionName(ctx.db, name);
  return name;
}

/** The existing collection, or undefined. */
export function existingCollection(ctx: CommandContext): Collection | undefined {
  return ctx.engine.getCollection(ctx.db, collectionName(ctx));
}

/**
 * The collection a write goes to, created if needed (inside a transaction: visible to others only
 * after the commit). A collection another open transaction is creating makes a plain write wait
 * and a transactional one conflict, as in mongod.
 */
export async function collectionForWrite(
  ctx: CommandContext,
  name: string = collectionName(ctx),
  options: Doc = {},
  db: string = ctx.db,
): Promise<Collection> {
  return retryOnLock(ctx, () => {
    const coll = ctx.engine.ensureCollection(db, name, options, ctx.txn);
    rejectWriteTo(coll, ctx.txn !== undefined);
    const creator = coll.createdBy;
    if (creator && creator !== ctx.txn && creator.state === 'active') {
      if (ctx.txn) throw writeConflict();
      throw new LockWait(creator.done);
    }
    return coll;
  });
}

/** Whether a collection is visible in the catalog to this command (not pending in another transaction). */
export function listable(ctx: CommandContext, coll: Collection): boolean {
  return !coll.createdBy || coll.createdBy === ctx.txn || coll.createdBy.state !== 'active';
}

/**
 * The collation of a command (or of one update/delete statement), validated like mongod;
 * undefined for the simple collation. What cannot be honoured is refused (115), see collation.ts.
 */
export function operationCollation(ctx: CommandContext, op: Doc = ctx.cmd): Collation | undefined {
  return parseCollation(op.collation, op === ctx.cmd ? `${ctx.name}.collation` : `${ctx.name}.${ctx.name}s.collation`);
}

/** Equal as stored BSON (field order and types included). */
export function sameBson(a: Doc, b: Doc): boolean {
  return Buffer.from(serialize(a)).equals(Buffer.from(serialize(b)));
}

/** Whether a filter has a condition on `path` (or below it), at the top level or under `$and`. */
function filterMentions(filter: Doc, path: string): boolean {
  return Object.entries(filter).some(([k, v]) =>
    k === '$and' && Array.isArray(v)
      ? v.some((sub) => typeof sub === 'object' && sub !== null && filterMentions(sub as Doc, path))
      : k === path || k.startsWith(`${path}.`),
  );
}

/** What mingo's `find` projects with (its default operators), made once: see bson/mingo-options.ts. */
const PROJECTION_OPTIONS = sharedOptions({ context: mingoDefaultContext() });

/**
 * Applies a find-style projection with mingo. A positional projection (`'arr.$'`) takes its match
 * from the filter; without a condition on that array mongod fails the query (mingo would return `[null]`).
 */
export function project(docs: Doc[], projection: unknown, filter: Doc = {}, collation?: Collation): Doc[] {
  if (projection === undefined || projection === null) return docs;
  if (typeof projection !== 'object' || Array.isArray(projection)) {
    throw new MongoCommandError(14, "BSON field 'projection' is the wrong type, expected type 'object'");
  }
  checkProjection(projection as Doc, false);
  if (collation) refuseUncollatedProjection(projection);
  if (Object.keys(projection).length === 0) return docs;
  const positional = Object.keys(projection).filter((k) => k.endsWith('.$'));
  if (positional.length > 0 && docs.length > 0) {
    for (const key of positional) {
      if (!filterMentions(filter, key.slice(0, -2))) {
        throw new MongoCommandError(
          51246,
          "Executor error during find command :: caused by :: positional operator '.$' couldn't find a matching element in the array",
        );
      }
    }
  }
  try {
    const condition = positional.length > 0 ? filter : {};
    const projected = new Query(condition, PROJECTION_OPTIONS).find(docs, projection as Doc).all() as Doc[];
    return inProjectionOrder(docs, projected, projection as Doc);
  } catch (err) {
    throw new MongoCommandError(2, err instanceof Error ? err.message : String(err));
  }
}

/** Refuses a document larger than a BSON document may be, as mongod does before storing it. */
export function checkSize(doc: Doc): void {
  const size = calculateObjectSize(doc);
  if (size > MAX_BSON_OBJECT_SIZE)
    throw new MongoCommandError(
      10334,
      `object to insert too large. size in bytes: ${size}, max size: ${MAX_BSON_OBJECT_SIZE}`,
    );
}

/** Validates an `_id` value as mongod does. */
export function checkId(id: unknown): void {
  if (Array.isArray(id)) throw new MongoCommandError(2, `The '_id' value cannot be of type array`);
  if (id instanceof RegExp) throw new MongoCommandError(2, `can't use a regex for _id`);
  const dollarKey = findDollarKey(id);
  if (dollarKey !== undefined)
    throw new MongoCommandError(
      52,
      `_id fields may not contain '$'-prefixed fields: ${dollarKey} is not valid for storage.`,
    );
}

/** The first `$`-prefixed field name inside a (sub)document, searched depth first. */
function findDollarKey(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== Object.prototype) return undefined;
  for (const [k, x] of Object.entries(v)) {
    if (k.startsWith('$')) return k;
    const inner = findDollarKey(x);
    if (inner !== undefined) return inner;
  }
  return undefined;
}

/**
 * Waits (within maxTimeMS) until no other open transaction has written to `coll`, so that a check
 * over its documents (an index build, a unique conversion) sees what those transactions commit.
 */
export function waitForOtherWriters(ctx: CommandContext, coll: Collection): Promise<void> {
  return retryOnLock(ctx, () => ctx.engine.checkNoOtherWriters(coll, ctx.txn));
}

/**
 * Runs a write step, waiting (within maxTimeMS) while a transaction holds what it needs, then
 * running it again from scratch — the way mongod retries a write that hit a write conflict.
 */
export async function retryOnLock<T>(ctx: CommandContext, step: () => T): Promise<T> {
  const maxTimeMS = typeof ctx.cmd.maxTimeMS === 'number' && ctx.cmd.maxTimeMS > 0 ? ctx.cmd.maxTimeMS : undefined;
  const deadline = maxTimeMS === undefined ? undefined : Date.now() + maxTimeMS;
  for (;;) {
    try {
      return step();
    } catch (err) {
      if (!(err instanceof LockWait)) throw err;
      const remaining = deadline === undefined ? undefined : deadline - Date.now();
      if (remaining !== undefined && remaining <= 0) throw new MongoCommandError(50, 'operation exceeded time limit');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        err.until,
        new Promise<void>((resolve) => {
          // Re-check periodically too, in case the holder is gone without resolving.
          timer = setTimeout(resolve, remaining === undefined ? 1000 : Math.min(remaining, 1000));
        }),
      ]);
      if (timer) clearTimeout(timer);
    }
  }
}

/** The command's `let` variables, validated like mongod. */
export function letVariables(ctx: CommandContext): Doc | undefined {
  const v = ctx.cmd.let;
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new MongoCommandError(14, `BSON field '${ctx.name}.let' is the wrong type, expected type 'object'`);
  for (const name of Object.keys(v)) {
    // mongod: a lowercase ASCII letter or a non-ASCII character first.
    if (!/^[a-z]/.test(name) && !(name.charCodeAt(0) > 127))
      throw new MongoCommandError(2, `'${name}' starts with an invalid character for a user variable name`);
  }
  // The values are expressions, evaluated once (like mongod) against an empty document.
  try {
    const [values] = aggregate([{}], [{ $addFields: v }]) as Doc[];
    return values ?? {};
  } catch (err) {
    throw new MongoCommandError(2, err instanceof Error ? err.message : String(err));
  }
}

/** Reads a non-negative integer option. */
export function intOption(ctx: CommandContext, field: string, cmd: Doc = ctx.cmd): number | undefined {
  const v = cmd[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new MongoCommandError(
      14,
      `BSON field '${ctx.name}.${field}' is the wrong type '${typeof v}', expected types '[long, int, decimal, double]'`,
    );
  }
  return Math.trunc(v);
}

/** The command's `bypassDocumentValidation` (a bool, or a number as mongod's safeBool reads it). */
export function bypassValidation(ctx: CommandContext): boolean {
  const v = ctx.cmd.bypassDocumentValidation;
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  throw new MongoCommandError(
    14,
    `BSON field '${ctx.name}.bypassDocumentValidation' is the wrong type '${typeof v}', expected types '[bool, long, int, decimal, double']`,
  );
}
