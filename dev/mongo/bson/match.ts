/**
 * Filter semantics of MongoDB's comparison and type operators, plugged into mingo as query
 * operators: mingo compares by JavaScript type name, so Decimal128, Int64 beyond 2^53 and
 * MinKey/MaxKey never compare right there. Here every comparison goes through `compareBson`
 * and MongoDB's type bracketing (a comparison only matches values of the rhs's canonical type,
 * MinKey/MaxKey excepted). Logical, array and evaluation operators stay mingo's.
 */
import { BSONRegExp, BSONSymbol, Decimal128, Long, MaxKey, MinKey, Timestamp } from 'bson';
import { Context } from 'mingo';
import * as accumulatorOps from 'mingo/operators/accumulator';
import * as expressionOps from 'mingo/operators/expression';
import * as pipelineOps from 'mingo/operators/pipeline';
import * as projectionOps from 'mingo/operators/projection';
import * as queryOps from 'mingo/operators/query';
import * as windowOps from 'mingo/operators/window';
import { Query } from 'mingo/query';
import type { Options } from 'mingo/types';
import { addBson, isBsonNumber } from './arith.ts';
import { checkedExpressionOps } from './checked-expressions.ts';
import type { Collation } from './collation.ts';
import { MongoCommandError } from './errors.ts';
import { bsonAccumulatorOps, bsonExpressionOps } from './expressions.ts';
import { sharedOptions } from './mingo-options.ts';
import { compareBson, type StringCompare, typeClass } from './order.ts';

type Doc = Record<string, unknown>;
type Op = 'eq' | 'lt' | 'lte' | 'gt' | 'gte';

/** Marks a path that reaches no value (mongod's EOO: canonical type 0, like undefined). */
const MISSING = Symbol('missing');

function isPlainDoc(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeClass(v) === 20;
}

/**
 * The values a dotted path reaches in a document, as mongod's matcher sees them: arrays along
 * the way are traversed (and indexed by numeric parts), a leaf array yields itself and its
 * elements, and a path that reaches nothing yields MISSING.
 */
function leafValues(doc: unknown, path: string): unknown[] {
  const parts = path.split('.');
  const out: unknown[] = [];
  const walk = (v: unknown, i: number): void => {
    if (i === parts.length) {
      if (v === undefined) out.push(MISSING);
      else {
        out.push(v);
        if (Array.isArray(v)) out.push(...v);
      }
      return;
    }
    const part = parts[i] as string;
    if (Array.isArray(v)) {
      if (/^\d+$/.test(part) && Number(part) < v.length) walk(v[Number(part)], i + 1);
      for (const e of v) if (isPlainDoc(e)) walk(e, i);
      return;
    }
    if (isPlainDoc(v)) walk(v[part], i + 1);
    else out.push(MISSING);
  };
  walk(doc, 0);
  if (out.length === 0) out.push(MISSING);
  return out;
}

/** Canonical type for matching: MISSING and undefined are 0 (mongod's EOO/undefined), null 5. */
function canonical(v: unknown): number {
  if (v === MISSING || v === undefined) return 0;
  return typeClass(v);
}

function isNaNValue(v: unknown): boolean {
  if (typeof v === 'number') return Number.isNaN(v);
  return v instanceof Decimal128 && v.toString().toLowerCase().includes('nan');
}

/** One value against a comparison, like mongod's ComparisonMatchExpression::matchesSingleElement. */
function matchesSingle(op: Op, v: unknown, rhs: unknown, strings?: StringCompare): boolean {
  const cv = canonical(v);
  const cr = canonical(rhs);
  if (cv !== cr) {
    // null, undefined and missing are one thing to equality and to $lte/$gte null.
    if (cv + cr === 5) return op === 'eq' || op === 'lte' || op === 'gte';
    if (rhs instanceof MinKey) return op === 'gt' || op === 'gte';
    if (rhs instanceof MaxKey) return op === 'lt' || op === 'lte';
    return false;
  }
  if (cv === 10 && (isNaNValue(v) || isNaNValue(rhs))) {
    // NaN equals NaN and is neither above nor below anything.
    return isNaNValue(v) && isNaNValue(rhs) && op !== 'lt' && op !== 'gt';
  }
  if (cv === 0) return op === 'eq' || op === 'lte' || op === 'gte';
  const c = compareBson(v, rhs, strings);
  switch (op) {
    case 'eq':
      return c === 0;
    case 'lt':
      return c < 0;
    case 'lte':
      return c <= 0;
    case 'gt':
      return c > 0;
    case 'gte':
      return c >= 0;
  }
}

function regexOf(v: unknown): RegExp | undefined {
  if (v instanceof RegExp) return v;
  if (v instanceof BSONRegExp) return new RegExp(v.pattern, v.options.replace(/[^imsu]/g, ''));
  return undefined;
}

function matchesAny(op: Op, doc: unknown, path: string, rhs: unknown, strings?: StringCompare): boolean {
  return leafValues(doc, path).some((v) => matchesSingle(op, v, rhs, strings));
}

/** The string comparison of the query's collation (passed as mingo's `collation` option), if any. */
function collationOf(options: Options): StringCompare | undefined {
  return (options.collation as unknown as Collation | undefined)?.compare;
}

function inMatches(doc: unknown, path: string, list: unknown[], strings?: StringCompare): boolean {
  const values = leafValues(doc, path);
  return list.some((rhs) => {
    const re = regexOf(rhs);
    if (re) return values.some((v) => (typeof v === 'string' || v instanceof BSONSymbol) && re.test(String(v)));
    return values.some((v) => matchesSingle('eq', v, rhs, strings));
  });
}

function comparison(op: Op, negate = false) {
  return (selector: string, rhs: unknown, options: Options) => {
    if (regexOf(rhs) && op !== 'eq')
      throw new MongoCommandError(2, `Can't have RegEx as arg to predicate over field '${selector}'.`);
    const strings = collationOf(options);
    return (doc: Doc): boolean => matchesAny(op, doc, selector, rhs, strings) !== negate;
  };
}

function membership(name: '$in' | '$nin') {
  return (selector: string, rhs: unknown, options: Options) => {
    if (!Array.isArray(rhs)) throw new MongoCommandError(2, `${name} needs an array`);
    for (const v of rhs) {
      if (isPlainDoc(v) && Object.keys(v).some((k) => k.startsWith('$')))
        throw new MongoCommandError(2, 'cannot nest $ under $in');
    }
    const negate = name === '$nin';
    const strings = collationOf(options);
    return (doc: Doc): boolean => inMatches(doc, selector, rhs, strings) !== negate;
  };
}

/** BSON type numbers by alias, as `$type` accepts them. */
const TYPE_ALIASES: Record<string, number> = {
  double: 1,
  string: 2,
  object: 3,
  array: 4,
  binData: 5,
  undefined: 6,
  objectId: 7,
  bool: 8,
  date: 9,
  null: 10,
  regex: 11,
  dbPointer: 12,
  javascript: 13,
  symbol: 14,
  javascriptWithScope: 15,
  int: 16,
  timestamp: 17,
  long: 18,
  decimal: 19,
  minKey: -1,
  maxKey: 127,
};
const TYPE_NUMBERS = new Set(Object.values(TYPE_ALIASES));

/**
 * The BSON type number of a decoded value. Documents are decoded with promoted values, so a JS
 * number is reported as the type it is written back as: Int32 when it is an int32, else Double.
 */
function bsonTypeOf(v: unknown): number | undefined {
  if (v === MISSING || v === undefined) return undefined;
  if (v === null) return 10;
  if (typeof v === 'number')
    return Number.isInteger(v) && v >= -2147483648 && v <= 2147483647 && !Object.is(v, -0) ? 16 : 1;
  if (typeof v === 'bigint') return 18;
  if (typeof v === 'string') return 2;
  if (typeof v === 'boolean') return 8;
  if (v instanceof Timestamp) return 17;
  if (v instanceof Long) return 18;
  if (v instanceof Decimal128) return 19;
  if (v instanceof MinKey) return -1;
  if (v instanceof MaxKey) return 127;
  if (Array.isArray(v)) return 4;
  if (v instanceof Date) return 9;
  if (v instanceof RegExp || v instanceof BSONRegExp) return 11;
  if (v instanceof BSONSymbol) return 14;
  switch ((v as { _bsontype?: string })._bsontype) {
    case 'Binary':
      return 5;
    case 'ObjectId':
      return 7;
    case 'Code':
      return (v as { scope?: unknown }).scope ? 15 : 13;
    case 'DBPointer':
      return 12;
  }
  return 3;
}

function parseType(t: unknown): number | 'number' {
  if (t === 'number') return 'number';
  if (typeof t === 'string') {
    const n = TYPE_ALIASES[t];
    if (n === undefined) throw new MongoCommandError(2, `Unknown type name alias: ${t}`);
    return n;
  }
  const n =
    typeof t === 'number'
      ? t
      : t instanceof Long
        ? t.toNumber()
        : t instanceof Decimal128
          ? Number(t.toString())
          : Number.NaN;
  if (!Number.isInteger(n))
    throw new MongoCommandError(2, `type must be represented as a number or a string, got ${String(t)}`);
  if (!TYPE_NUMBERS.has(n)) throw new MongoCommandError(2, `Invalid numerical type code: ${n}`);
  return n;
}

function typeOperator(selector: string, rhs: unknown, _options: Options) {
  const list = Array.isArray(rhs) ? rhs : [rhs];
  if (list.length === 0) throw new MongoCommandError(2, '$type must match at least one type');
  const types = list.map(parseType);
  const hasType = (v: unknown): boolean => {
    const t = bsonTypeOf(v);
    if (t === undefined) return false;
    return types.some((want) => (want === 'number' ? t === 1 || t === 16 || t === 18 || t === 19 : want === t));
  };
  return (doc: Doc): boolean => leafValues(doc, selector).some(hasType);
}

/** mingo's query operators with the comparison and `$type` operators replaced by BSON-aware ones. */
const bsonQueryOps = {
  ...queryOps,
  $eq: comparison('eq'),
  $ne: comparison('eq', true),
  $gt: comparison('gt'),
  $gte: comparison('gte'),
  $lt: comparison('lt'),
  $lte: comparison('lte'),
  $in: membership('$in'),
  $nin: membership('$nin'),
  $type: typeOperator,
};

/**
 * `$sum` over BSON numbers of every type: Decimal128 in decimal, Int64 exactly (turning to Double
 * on overflow like mongod); mingo's adds JS numbers only and drops Decimal128/Long.
 */
function bsonSum(coll: unknown[], expr: unknown, options: Options): unknown {
  if (typeof expr === 'number') return coll.length * expr;
  const values = (accumulatorOps.$push as (c: unknown[], e: unknown, o: Options) => unknown[])(coll, expr, options);
  let total: unknown = 0;
  for (const v of values) {
    if (!isBsonNumber(v)) continue;
    total = addBson(total, v) ?? Number(String(total)) + Number(String(v));
  }
  return total;
}

/**
 * A mingo context with every operator of mingo and MongoDB's filter semantics for comparisons.
 * (mingo's default context cannot be overridden by merging: its operators win.)
 */
export const BSON_CONTEXT = Context.init({
  accumulator: { ...accumulatorOps, ...bsonAccumulatorOps, $sum: bsonSum } as never,
  expression: { ...expressionOps, ...bsonExpressionOps, ...checkedExpressionOps } as never,
  pipeline: pipelineOps as never,
  projection: projectionOps as never,
  query: bsonQueryOps as never,
  window: windowOps as never,
});

/** The options of a filter without `let` variables or a collation (see mingo-options.ts). */
const PLAIN_QUERY_OPTIONS = sharedOptions({ context: BSON_CONTEXT });

/**
 * Compiles a filter with MongoDB's comparison semantics (mingo errors propagate as thrown); string
 * comparisons follow `collation` when given (it rides in mingo's `collation` option).
 */
export function bsonQuery(filter: Doc, variables?: Doc, collation?: Collation): Query {
  // Without `let` or a collation (nearly every filter) the options are always the same: made once.
  if (!variables && !collation) return new Query(filter, PLAIN_QUERY_OPTIONS);
  return new Query(filter, {
    context: BSON_CONTEXT,
    ...(variables ? { variables } : {}),
    ...(collation ? { collation: collation as never } : {}),
  });
}
