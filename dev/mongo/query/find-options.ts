/**
 * The find options that depend on the index a query reads: `min`/`max` (index bounds, which need a
 * `hint`), `returnKey` (the index key instead of the document) and `showRecordId` (`$recordId`).
 * MongoDB 7.0 semantics: min is inclusive, max exclusive, both in the hinted index's order; the
 * hinted index is scanned whole (so a sparse or partial index only returns what it holds).
 */
import { Long } from 'bson';
import { MongoCommandError } from '../bson/errors.ts';
import { compareBson, keyString } from '../bson/order.ts';
import { indexByName } from '../storage/clustered.ts';
import type { Collection, Doc, Engine, ReadView } from '../storage/engine.ts';
import type { Index } from '../storage/indexes.ts';
import { compileFilter, type PlanInfo, sortDocuments } from './execute.ts';

/** What find asked for, already type-checked. */
export interface IndexBoundOptions {
  filter: Doc;
  sort?: Doc | undefined;
  skip?: number | undefined;
  limit?: number | undefined;
  min?: Doc | undefined;
  max?: Doc | undefined;
  variables?: Doc | undefined;
}

function plannerError(coll: Collection, code: number, message: string): MongoCommandError {
  return new MongoCommandError(
    code,
    `error processing query: ns=${coll.ns} planner returned error :: caused by :: ${message}`,
  );
}

/** The index a hint names (by name or key pattern), or undefined for no hint / `$natural`. */
export function hintedIndex(coll: Collection, hint: unknown): Index | undefined {
  if (hint === undefined || hint === null) return undefined;
  if (typeof hint === 'string') return indexByName(coll, hint);
  if (typeof hint !== 'object' || Object.keys(hint).length === 0 || '$natural' in (hint as Doc)) return undefined;
  return [...coll.indexes.values()].find((ix) => JSON.stringify(ix.spec.key) === JSON.stringify(hint));
}

/** Whether a min/max document names exactly the index's fields, in order (mongod's indexCompatibleMaxMin). */
function boundFitsIndex(bound: Doc, index: Index): boolean {
  const fields = Object.keys(bound);
  return fields.length === index.fields.length && fields.every((f, i) => f === index.fields[i]);
}

/** Compares two index keys in the index's order (each field's direction applied). */
function compareKeys(index: Index, a: unknown[], b: unknown[]): number {
  for (let i = 0; i < index.dirs.length; i++) {
    const c = compareBson(a[i], b[i]);
    if (c !== 0) return c * (index.dirs[i] as number);
  }
  return 0;
}

/**
 * find with `min`/`max` (or with `returnKey`/`showRecordId` and a hint): scans the hinted index
 * between the bounds, in index order, then applies the filter, sort, skip and limit. Returns each
 * document with the index key it was found under.
 */
export function scanHintedIndex(
  engine: Engine,
  coll: Collection,
  view: ReadView,
  index: Index | undefined,
  options: IndexBoundOptions,
): { doc: Doc; key: unknown[] }[] {
  const { min, max } = options;
  if (!index) {
    throw plannerError(coll, 51173, 'When using min()/max() a hint of which index to use must be provided');
  }
  if ((min && !boundFitsIndex(min, index)) || (max && !boundFitsIndex(max, index))) {
    throw plannerError(coll, 51174, 'The index chosen is not compatible with min/max');
  }
  const lo = min ? Object.values(min) : undefined;
  const hi = max ? Object.values(max) : undefined;
  if (lo && hi && compareKeys(index, lo, hi) >= 0) {
    throw plannerError(
      coll,
      51175,
      'The value provided for min() does not come before the value provided for max() in the hinted index',
    );
  }
  const inRange = (key: unknown[]): boolean =>
    (!lo || compareKeys(index, key, lo) >= 0) && (!hi || compareKeys(index, key, hi) < 0);
  const query = compileFilter(options.filter, options.variables);
  const own = view.txn?.writes.get(coll);
  const seen = new Set<string>();
  const found: { doc: Doc; key: unknown[] }[] = [];
  for (const e of index.entries.forward()) {
    if (seen.has(e.id) || own?.has(e.id) || !inRange(e.key)) continue;
    const doc = engine.visible(coll, e.id, view);
    // An index holds the keys of every retained version: only the visible version's keys count.
    if (!doc || !index.keysOf(doc).some((k) => keyString(k) === keyString(e.key))) continue;
    seen.add(e.id);
    if (query.test(doc)) found.push({ doc, key: e.key });
  }
  if (own && own.size > 0) {
    for (const [, doc] of own) {
      if (!doc) continue;
      const key = index.keysOf(doc).find(inRange);
      if (key && query.test(doc)) found.push({ doc, key });
    }
    found.sort((a, b) => compareKeys(index, a.key, b.key));
  }
  let ordered = found;
  if (options.sort && Object.keys(options.sort).length > 0) {
    const keyOf = new Map(found.map((f) => [f.doc, f.key]));
    ordered = sortDocuments(
      found.map((f) => f.doc),
      options.sort,
    ).map((doc) => ({ doc, key: keyOf.get(doc) as unknown[] }));
  }
  const skip = options.skip ?? 0;
  return ordered.slice(skip, options.limit ? skip + options.limit : undefined);
}

/** The document `returnKey` returns: the index key's fields, or `{}` when no index was read. */
export function indexKeyDoc(index: Index | undefined, key: unknown[] | undefined): Doc {
  if (!index || !key) return {};
  return index.keyDoc(key);
}

/**
 * The key under which a query that read `plan.index` found `doc`. Refused (115) on a multikey
 * index, where mongod returns the particular array element's key the scan met.
 */
export function keyFromPlan(coll: Collection, plan: PlanInfo, doc: Doc): { index?: Index; key?: unknown[] } {
  if (plan.stage !== 'IXSCAN' || !plan.index) return {};
  const index = coll.indexes.get(plan.index);
  if (!index) return {};
  if (index.multikey)
    throw new MongoCommandError(115, 'returnKey on a multikey index is not supported by the embedded MongoDB server');
  return { index, key: index.keysOf(doc)[0] };
}

/** Appends `$recordId` (a Long) to a result document, as mongod's `{$meta: "recordId"}` projection does. */
export function withRecordId(coll: Collection, stored: Doc, projected: Doc): Doc {
  const recordId = coll.recordIds.get(keyString(stored._id));
  if (recordId === undefined) {
    throw new MongoCommandError(
      115,
      'showRecordId on a document not yet committed (or deleted since the snapshot) is not supported by the embedded MongoDB server',
    );
  }
  return { ...projected, $recordId: Long.fromNumber(recordId) };
}
