/**
 * Capped collections, as MongoDB 7.0 has them: `create` with `capped: true, size` (bytes, rounded
 * up to a multiple of 256) and optionally `max` (documents). Documents keep insertion order; an
 * insert that takes the collection over either limit removes the oldest documents (never the one
 * just inserted). Since 5.3 updates may change a document's size and deletes are allowed; writes
 * inside a multi-document transaction are not (263).
 */
import { calculateObjectSize } from 'bson';
import { MongoCommandError } from '../bson/errors.ts';

type Doc = Record<string, unknown>;

/** mongod's ceiling on `size` (1 PB). */
const MAX_CAPPED_SIZE = 1024 ** 5;
/** `max` at or below 0 means "no limit", stored as this value (adjustCappedMaxDocs). */
const NO_MAX_DOCS = 0x7fffffff;

/** The capped options as listed by listCollections. */
export interface CappedOptions {
  capped: true;
  size: number;
  max?: number;
}

/** What eviction needs to know of a collection (kept structural so engine.ts can use it without a cycle). */
export interface CappedState {
  readonly options: Doc;
  readonly docs: Map<string, { doc: Doc | null }[]>;
  readonly recordIds: Map<string, number>;
  cappedBytes: number;
}

function numberOption(cmd: Doc, field: string): number | undefined {
  const v = cmd[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new MongoCommandError(
      14,
      `BSON field 'create.${field}' is the wrong type '${typeof v}', expected types '[long, int, decimal, double]'`,
    );
  return Math.trunc(v);
}

/** The validated capped options of a `create` command (undefined for a plain collection), with mongod's checks. */
export function cappedOptions(cmd: Doc): CappedOptions | undefined {
  const capped = cmd.capped;
  if (capped !== undefined && typeof capped !== 'boolean')
    throw new MongoCommandError(
      14,
      `BSON field 'create.capped' is the wrong type '${typeof capped}', expected type 'bool'`,
    );
  const size = numberOption(cmd, 'size');
  const max = numberOption(cmd, 'max');
  if (capped === true && size === undefined)
    throw new MongoCommandError(72, "the 'size' field is required when 'capped' is true");
  if ((size !== undefined || max !== undefined) && capped !== true)
    throw new MongoCommandError(
      72,
      "the 'capped' field needs to be true when either the 'size' or 'max' fields are present",
    );
  if (capped !== true || size === undefined) return undefined;
  if (size < 0) throw new MongoCommandError(2, 'size has to be >= 0');
  if (size > MAX_CAPPED_SIZE) throw new MongoCommandError(2, 'size cannot exceed 1 PB');
  if (max !== undefined && max >= 2 ** 31)
    throw new MongoCommandError(2, 'max in a capped collection has to be < 2^31 or not set');
  const options: CappedOptions = { capped: true, size: Math.ceil(size / 256) * 256 };
  if (max !== undefined) options.max = max <= 0 ? NO_MAX_DOCS : max;
  return options;
}

/** Whether a collection's options make it capped. */
export function isCapped(options: Doc): boolean {
  return options.capped === true;
}

/** The stored size of a document, as capped size accounting counts it. */
export function cappedDocBytes(doc: Doc | null): number {
  return doc ? calculateObjectSize(doc) : 0;
}

/**
 * The ids of the oldest documents to remove so that the collection fits its `size` and `max`
 * again after `justInserted` was added (which is never removed, as in mongod).
 */
export function cappedEvictions(coll: CappedState, justInserted: string): string[] {
  const size = coll.options.size as number;
  const max = typeof coll.options.max === 'number' ? coll.options.max : NO_MAX_DOCS;
  let count = coll.recordIds.size;
  let bytes = coll.cappedBytes;
  const evicted: string[] = [];
  for (const [id, chain] of coll.docs) {
    if (count <= max && bytes <= size) break;
    if (id === justInserted) continue;
    const doc = chain[chain.length - 1]?.doc ?? null;
    if (!doc) continue;
    evicted.push(id);
    count--;
    bytes -= cappedDocBytes(doc);
  }
  return evicted;
}

/** Refuses a write to a capped collection inside a multi-document transaction, like mongod. */
export function rejectCappedWriteInTransaction(ns: string, options: Doc, inTransaction: boolean): void {
  if (inTransaction && isCapped(options))
    throw new MongoCommandError(
      263,
      `Collection '${ns}' is a capped collection. Writes in transactions are not allowed on capped collections.`,
    );
}

/** mongod 7.0 builds no TTL index on a capped collection (67 CannotCreateIndex). */
export function rejectTtlIndexOnCapped(options: Doc, indexSpec: Doc): void {
  if (isCapped(options) && indexSpec.expireAfterSeconds !== undefined)
    throw new MongoCommandError(67, 'Cannot create TTL index on a capped collection');
}
