/**
 * Query execution: picks an index from the filter's equality/range conditions (or the sort),
 * streams candidate documents from it, and lets mingo decide the full filter, sort and projection.
 */

import type { Query } from 'mingo/query';
import { type Collation, sameCollation } from '../bson/collation.ts';
import { MongoCommandError } from '../bson/errors.ts';
import { validateFilter, withoutComments } from '../bson/filter-validation.ts';
import { bsonQuery } from '../bson/match.ts';
import { compareBson, keyString, type StringCompare, typeClass } from '../bson/order.ts';
import { clusteredIndexOf, indexByName, naturalOrderIds } from '../storage/clustered.ts';
import type { Collection, Doc, Engine, ReadView } from '../storage/engine.ts';
import type { Index, IndexEntry } from '../storage/indexes.ts';
import { refuseUncollatedFilter } from './collated-ops.ts';
import { refuseUndefinedFilterVariables } from './undefined-variables.ts';

interface Bound {
  v: unknown;
  incl: boolean;
}

/** Index bounds for one field: a set of points, or a range within one BSON type bracket. */
type FieldBounds = { kind: 'points'; values: unknown[] } | { kind: 'range'; cls: number; lo?: Bound; hi?: Bound };

/** Type brackets whose values we can look up in an index (not null/arrays/regex/objects). */
const INDEXABLE = new Set([10, 15, 35, 40, 45, 47]);

function isOperatorObject(v: unknown): v is Doc {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || typeClass(v) !== 20) return false;
  const keys = Object.keys(v);
  return keys.length > 0 && keys.every((k) => k.startsWith('$'));
}

function indexable(v: unknown): boolean {
  return INDEXABLE.has(typeClass(v)) && !(typeof v === 'number' && Number.isNaN(v));
}

function boundsForCondition(cond: unknown): FieldBounds | undefined {
  if (!isOperatorObject(cond)) return indexable(cond) ? { kind: 'points', values: [cond] } : undefined;
  if ('$eq' in cond && indexable(cond.$eq)) return { kind: 'points', values: [cond.$eq] };
  if (Array.isArray(cond.$in) && cond.$in.length > 0 && cond.$in.every(indexable)) {
    return { kind: 'points', values: cond.$in };
  }
  let range: { kind: 'range'; cls: number; lo?: Bound; hi?: Bound } | undefined;
  const setSide = (op: string, side: 'lo' | 'hi', incl: boolean): void => {
    if (!(op in cond)) return;
    const v = cond[op];
    if (!indexable(v)) return;
    if (!range) range = { kind: 'range', cls: typeClass(v) };
    if (range.cls !== typeClass(v)) return;
    const cur = range[side];
    const tighter =
      !cur ||
      (side === 'lo'
        ? compareBson(v, cur.v) > 0 || (compareBson(v, cur.v) === 0 && !incl)
        : compareBson(v, cur.v) < 0 || (compareBson(v, cur.v) === 0 && !incl));
    if (tighter) range[side] = { v, incl };
  };
  setSide('$gt', 'lo', false);
  setSide('$gte', 'lo', true);
  setSide('$lt', 'hi', false);
  setSide('$lte', 'hi', true);
  return range;
}

/** Per top-level field bounds implied by a filter (conditions under $and included). */
export function extractBounds(filter: Doc, out = new Map<string, FieldBounds>()): Map<string, FieldBounds> {
  for (const [k, v] of Object.entries(filter)) {
    if (k === '$and' && Array.isArray(v)) {
      for (const sub of v) if (typeof sub === 'object' && sub !== null) extractBounds(sub as Doc, out);
      continue;
    }
    if (k.startsWith('$')) continue;
    const b = boundsForCondition(v);
    if (!b) continue;
    const prev = out.get(k);
    if (!prev || (prev.kind === 'range' && b.kind === 'points')) out.set(k, b);
  }
  return out;
}

/** Entries of an index whose leading key lies in the bounds, in index order (or reversed). */
function* scanLeading(index: Index, bounds: FieldBounds | undefined, reverse: boolean): Generator<IndexEntry> {
  // Keys are ordered by the index's collation: bounds compare the same way.
  const strings = index.collation?.compare;
  if (bounds?.kind === 'points') {
    const values = [...bounds.values].sort((a, b) => compareBson(a, b, strings));
    const ascending = (index.dirs[0] === 1) !== reverse;
    if (!ascending) values.reverse();
    let last: unknown;
    let first = true;
    for (const v of values) {
      if (!first && compareBson(v, last, strings) === 0) continue;
      first = false;
      last = v;
      yield* scanLeading(
        index,
        { kind: 'range', cls: typeClass(v), lo: { v, incl: true }, hi: { v, incl: true } },
        reverse,
      );
    }
    return;
  }
  const cls = bounds?.cls;
  const lo = bounds?.lo;
  const hi = bounds?.hi && !index.multikey ? bounds.hi : index.multikey && lo ? undefined : bounds?.hi;
  const belowLo = (e: IndexEntry): boolean => {
    if (cls === undefined) return false;
    const c0 = typeClass(e.key[0]);
    if (c0 !== cls) return c0 < cls;
    if (!lo) return false;
    const c = compareBson(e.key[0], lo.v, strings);
    return c < 0 || (c === 0 && !lo.incl);
  };
  const aboveHi = (e: IndexEntry): boolean => {
    if (cls === undefined) return false;
    const c0 = typeClass(e.key[0]);
    if (c0 !== cls) return c0 > cls;
    if (!hi) return false;
    const c = compareBson(e.key[0], hi.v, strings);
    return c > 0 || (c === 0 && !hi.incl);
  };
  const list = index.entries;
  const asc = index.dirs[0] === 1;
  // In index order the entries "before" the range form a prefix, the ones "after" a suffix.
  const before = asc ? belowLo : aboveHi;
  const after = asc ? aboveHi : belowLo;
  if (!reverse) {
    for (const e of list.forward(list.seek((e) => !before(e)))) {
      if (after(e)) return;
      yield e;
    }
  } else {
    for (const e of list.backward(list.seek((e) => after(e)))) {
      if (before(e)) return;
      yield e;
    }
  }
}

/** Whether bounds involve strings (whose order and equality depend on the collation). */
function hasStrings(b: FieldBounds): boolean {
  return b.kind === 'points' ? b.values.some((v) => typeClass(v) === 15) : b.cls === 15;
}

/** A query's bounds per field, with the collation its strings compare by. */
type QueryBounds = { byField: Map<string, FieldBounds>; collation: Collation | undefined };

/**
 * The bounds on an index's leading field that the index can answer: string bounds only when the
 * query's collation is the index's (else 'a' and 'A' could be equal to the query but apart in the
 * index, or the reverse), other types always.
 */
function boundsFor(bounds: QueryBounds, index: Index): FieldBounds | undefined {
  const b = bounds.byField.get(index.fields[0] as string);
  if (!b || !hasStrings(b) || sameCollation(index.collation, bounds.collation)) return b;
  return undefined;
}

function boundsScore(b: FieldBounds | undefined, index: Index): number {
  if (!b) return 0;
  if (b.kind === 'points') return index.unique && index.fields.length === 1 ? 5 : 4;
  return b.lo && b.hi ? 3 : b.lo || b.hi ? 2 : 0;
}

/** Sorts below null: the key of an empty array (mongod orders `[]` before null and missing). */
const EMPTY_ARRAY_KEY = Symbol('empty array');

/** The values a sort path reaches in a document (arrays along the way and at the end are unwound). */
function sortValues(v: unknown, parts: string[], i: number, out: unknown[]): void {
  if (i === parts.length) {
    if (Array.isArray(v)) {
      if (v.length === 0) out.push(EMPTY_ARRAY_KEY);
      else out.push(...v);
    } else out.push(v === undefined ? null : v);
    return;
  }
  if (Array.isArray(v)) {
    if (v.length === 0) out.push(EMPTY_ARRAY_KEY);
    for (const e of v) sortValues(e, parts, i, out);
    return;
  }
  if (typeof v === 'object' && v !== null && typeClass(v) === 20)
    sortValues((v as Doc)[parts[i] as string], parts, i + 1, out);
  else out.push(null);
}

function compareSortKeys(a: unknown, b: unknown, strings?: StringCompare): number {
  if (a === EMPTY_ARRAY_KEY || b === EMPTY_ARRAY_KEY) return a === b ? 0 : a === EMPTY_ARRAY_KEY ? -1 : 1;
  return compareBson(a, b, strings);
}

/**
 * Sorts documents the way mongod does, in BSON order across types (MinKey, null, numbers of every
 * type together, strings, objects, BinData, ObjectId, booleans, dates, timestamps, regexes, MaxKey):
 * an array field sorts by its smallest element ascending and its largest descending. Stable.
 * Strings compare by the collation when one is given.
 */
export function sortDocuments(docs: Doc[], sort: Doc, collation?: Collation): Doc[] {
  const strings = collation?.compare;
  const spec = Object.entries(sort).map(([path, dir]) => {
    if (dir !== 1 && dir !== -1) {
      if (typeof dir === 'number')
        throw new MongoCommandError(15975, '$sort key ordering must be 1 (for ascending) or -1 (for descending)');
      throw new MongoCommandError(15974, `Illegal key in $sort specification: ${path}: ${JSON.stringify(dir)}`);
    }
    return { parts: path.split('.'), dir };
  });
  const keyed = docs.map((doc, index) => ({
    doc,
    index,
    keys: spec.map(({ parts, dir }) => {
      const values: unknown[] = [];
      sortValues(doc, parts, 0, values);
      let best = values[0];
      for (const v of values.slice(1)) {
        const c = compareSortKeys(v, best, strings);
        if (dir === 1 ? c < 0 : c > 0) best = v;
      }
      return best;
    }),
  }));
  keyed.sort((x, y) => {
    for (let i = 0; i < spec.length; i++) {
      const c = compareSortKeys(x.keys[i], y.keys[i], strings);
      if (c !== 0) return c * (spec[i]?.dir ?? 1);
    }
    return x.index - y.index;
  });
  return keyed.map((k) => k.doc);
}

/** Options of a read. */
export interface ReadOptions {
  sort?: Doc | undefined;
  skip?: number | undefined;
  limit?: number | undefined;
  /** An index name or key pattern (validated like mongod), or `{ $natural: ±1 }`. */
  hint?: unknown;
  /** The command's `let` variables (`$$name` in `$expr`). */
  variables?: Doc | undefined;
  /** The operation's collation (undefined: simple, binary comparison). */
  collation?: Collation | undefined;
  /**
   * The filter as the caller compiled it already (compileFilter with these same variables and
   * collation), so that it is not compiled twice.
   */
  compiled?: Query | undefined;
}

/**
 * The natural-order direction a sort or hint asks for (`$natural`), validating the hint: an index
 * that does not exist is an error in mongod, not something to ignore.
 */
function naturalOrder(coll: Collection, sort: Doc | undefined, hint: unknown): 1 | -1 | undefined {
  let natural: unknown;
  if (sort && '$natural' in sort) {
    if (Object.keys(sort).length > 1)
      throw new MongoCommandError(2, '$natural sort cannot be set in combination with other sort fields');
    natural = sort.$natural;
  }
  if (hint !== undefined && hint !== null && !(typeof hint === 'object' && Object.keys(hint).length === 0)) {
    if (typeof hint === 'object' && '$natural' in (hint as Doc)) natural ??= (hint as Doc).$natural;
    else {
      const found =
        typeof hint === 'string'
          ? indexByName(coll, hint) !== undefined
          : typeof hint === 'object' &&
            [...coll.indexes.values()].some((ix) => JSON.stringify(ix.spec.key) === JSON.stringify(hint));
      if (!found) {
        throw new MongoCommandError(
          2,
          `error processing query: ns=${coll.ns} planner returned error :: caused by :: hint provided does not correspond to an existing index`,
        );
      }
    }
  }
  if (natural === undefined) return undefined;
  if (natural !== 1 && natural !== -1)
    throw new MongoCommandError(2, `$natural must be 1 or -1, got ${JSON.stringify(natural)}`);
  return natural;
}

/** How a read was answered (for tests and the benchmark). */
export interface PlanInfo {
  stage: 'IXSCAN' | 'COLLSCAN' | 'EOF';
  index?: string;
  sortedByIndex?: boolean;
  examined: number;
}

/**
 * Compiles a filter with mingo (with the command's `let` variables and collation), turning its
 * errors into BadValue like mongod.
 */
export function compileFilter(filter: unknown, variables?: Doc, collation?: Collation): Query {
  if (filter !== undefined && filter !== null && (typeof filter !== 'object' || Array.isArray(filter))) {
    throw new MongoCommandError(14, "BSON field 'filter' is the wrong type, expected type 'object'");
  }
  validateFilter((filter ?? {}) as Doc);
  refuseUndefinedFilterVariables((filter ?? {}) as Doc, variables);
  if (collation) refuseUncollatedFilter(filter);
  try {
    return bsonQuery(withoutComments((filter ?? {}) as Doc), variables, collation);
  } catch (err) {
    throw new MongoCommandError(2, err instanceof Error ? err.message : String(err));
  }
}

function sortIndex(
  coll: Collection,
  sort: Doc,
  collation: Collation | undefined,
): { index: Index; reverse: boolean } | undefined {
  const spec = Object.entries(sort);
  if (spec.length === 0) return undefined;
  for (const index of coll.indexes.values()) {
    if (!index.complete || spec.length > index.fields.length) continue;
    // Strings are in the index's collation order: only a sort with that collation can use it.
    if (!sameCollation(index.collation, collation)) continue;
    let sign = 0;
    let ok = true;
    for (let i = 0; i < spec.length; i++) {
      const [field, dir] = spec[i] as [string, unknown];
      if (index.fields[i] !== field || (dir !== 1 && dir !== -1)) {
        ok = false;
        break;
      }
      const s = (dir as number) * (index.dirs[i] as number);
      if (sign === 0) sign = s;
      else if (s !== sign) {
        ok = false;
        break;
      }
    }
    if (ok) return { index, reverse: sign < 0 };
  }
  return undefined;
}

/**
 * Runs a filter against a collection in a view and returns the matching documents after sort,
 * skip and limit (stored objects: callers must not mutate them).
 */
export function runQuery(
  engine: Engine,
  coll: Collection | undefined,
  view: ReadView,
  filter: Doc,
  options: ReadOptions = {},
  plan?: PlanInfo,
): Doc[] {
  const query = options.compiled ?? compileFilter(filter, options.variables, options.collation);
  const info: PlanInfo = plan ?? { stage: 'COLLSCAN', examined: 0 };
  if (!coll) {
    info.stage = 'EOF';
    return [];
  }
  const skip = Math.max(0, options.skip ?? 0);
  const limit = options.limit && options.limit > 0 ? options.limit : undefined;
  const want = limit === undefined ? Number.POSITIVE_INFINITY : skip + limit;
  const natural = naturalOrder(coll, options.sort, options.hint);
  const sort = options.sort && Object.keys(options.sort).length > 0 && !natural ? options.sort : undefined;
  const own = view.txn?.writes.get(coll);
  const bounds: QueryBounds = { byField: extractBounds(filter), collation: options.collation };
  const out: Doc[] = [];

  // 0. Natural (insertion) order: a collection scan, reversed for -1.
  if (natural) {
    info.stage = 'COLLSCAN';
    const ids = [...naturalOrderIds(coll)].filter((id) => !own?.has(id));
    const all: [string, Doc | null][] = ids.map((id) => [id, engine.visible(coll, id, view)]);
    if (own) all.push(...own);
    // A clustered collection's natural order is _id order, the transaction's own writes included.
    if (own?.size && clusteredIndexOf(coll)) all.sort((x, y) => compareBson(x[1]?._id ?? null, y[1]?._id ?? null));
    if (natural === -1) all.reverse();
    for (const [, doc] of all) {
      info.examined++;
      if (doc && query.test(doc)) out.push(doc);
      if (out.length >= want) break;
    }
    return out.slice(skip);
  }

  // 1. An index that yields documents already in sort order (only if nothing of ours is buffered).
  if (sort && !own?.size) {
    const bySort = sortIndex(coll, sort, options.collation);
    const leading = bySort && boundsFor(bounds, bySort.index);
    const bestPoints = [...coll.indexes.values()].some((ix) => !ix.partial && boundsFor(bounds, ix)?.kind === 'points');
    if (bySort && (leading || !bestPoints)) {
      info.stage = 'IXSCAN';
      info.index = bySort.index.name;
      info.sortedByIndex = true;
      for (const e of scanLeading(bySort.index, leading, bySort.reverse)) {
        const doc = engine.visible(coll, e.id, view);
        info.examined++;
        if (!doc) continue;
        if (engine.isMultiVersion(coll, e.id)) {
          // Old versions leave entries behind: only the one matching the visible version counts.
          const k = bySort.index.keysOf(doc)[0];
          if (!k || !bySort.index.sameKey(k, e.key)) continue;
        }
        if (!query.test(doc)) continue;
        out.push(doc);
        if (out.length >= want) break;
      }
      return out.slice(skip);
    }
  }

  // 2. Candidates from the most selective usable index, else every document.
  let best: Index | undefined;
  let bestScore = 0;
  for (const index of coll.indexes.values()) {
    if (index.partial) continue;
    const score = boundsScore(boundsFor(bounds, index), index);
    if (score > bestScore) {
      best = index;
      bestScore = score;
    }
  }
  const clusteredOwn = !!own?.size && clusteredIndexOf(coll) !== undefined;
  const stopEarly = !sort && !clusteredOwn;
  const consider = (_id: string, doc: Doc | null): boolean => {
    info.examined++;
    if (doc && query.test(doc)) {
      out.push(doc);
      if (stopEarly && out.length >= want) return true;
    }
    return false;
  };
  let done = false;
  if (best) {
    info.stage = 'IXSCAN';
    info.index = best.name;
    const seen = best.multikey || engine.activeTxns.size > 0 ? new Set<string>() : undefined;
    const leading = boundsFor(bounds, best);
    // Point lookups on _id go straight to the document map (same result, no tree walk).
    const entries: Iterable<{ id: string }> =
      best.name === '_id_' && leading?.kind === 'points'
        ? [...new Set(leading.values.map((v) => keyString(v)))].map((id) => ({ id }))
        : scanLeading(best, leading, false);
    for (const e of entries) {
      if (seen) {
        if (seen.has(e.id)) continue;
        seen.add(e.id);
      }
      if (own?.has(e.id)) continue;
      if (consider(e.id, engine.visible(coll, e.id, view))) {
        done = true;
        break;
      }
    }
  } else {
    info.stage = 'COLLSCAN';
    for (const id of naturalOrderIds(coll)) {
      if (own?.has(id)) continue;
      if (consider(id, engine.visible(coll, id, view))) {
        done = true;
        break;
      }
    }
  }
  if (!done && own) {
    for (const [id, doc] of own) if (consider(id, doc)) break;
  }
  if (sort || (clusteredOwn && !best)) {
    // A clustered collection's natural order is its _id order, compared binary (not collated).
    const sorted = sortDocuments(out, sort ?? { _id: 1 }, sort ? options.collation : undefined);
    return sorted.slice(skip, limit === undefined ? undefined : skip + limit);
  }
  return out.slice(skip, limit === undefined ? undefined : skip + limit);
}
