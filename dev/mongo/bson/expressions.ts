/**
 * Aggregation operators that mingo computes on JavaScript numbers only, redone on every BSON number
 * type as mongod computes them: `$add`, `$subtract`, `$multiply`, the comparisons `$eq`…`$cmp`
 * (expressions) and `$avg`, `$min`, `$max` (accumulators). With Int64 beyond 2^53 and Decimal128 mingo refuses valid input ("$add
 * expression must resolve to array of numbers") or answers wrongly (its `$max` orders objects by
 * its own rules, its `$avg` skips Decimal128). Arithmetic is exact (arith.ts); order is
 * MongoDB's (order.ts). Registered in BSON_CONTEXT (match.ts).
 */
import { Long } from 'bson';
import { evalExpr } from 'mingo/core';
import * as accumulatorOps from 'mingo/operators/accumulator';
import type { Options } from 'mingo/types';
import { addBson, averageBson, isBsonNumber, mulBson, negateBson } from './arith.ts';
import { MongoCommandError } from './errors.ts';
import { bsonTypeName, compareBson } from './order.ts';

const push = accumulatorOps.$push as (coll: unknown[], expr: unknown, options: Options) => unknown[];

/** The evaluated operands: an array argument is the operand list, anything else one operand (as in mongod). */
function operands(obj: unknown, expr: unknown, options: Options): unknown[] {
  return Array.isArray(expr) ? expr.map((e) => evalExpr(obj, e, options)) : [evalExpr(obj, expr, options)];
}

function exactly(op: string, n: number, args: unknown[]): void {
  if (args.length !== n)
    throw new MongoCommandError(16020, `Expression ${op} takes exactly ${n} arguments. ${args.length} were passed in.`);
}

const nullish = (v: unknown): boolean => v === null || v === undefined;

/** Milliseconds to add to a date: rounded half away from zero, as mongod's llround does. */
function dateOffset(n: unknown): number {
  const x = Number(String(n));
  return Math.sign(x) * Math.round(Math.abs(x));
}

/** Int64 overflow turns the result into a Double, as mongod's arithmetic expressions do. */
function orDouble(result: unknown, a: unknown, b: unknown, op: (x: number, y: number) => number): unknown {
  return result ?? op(Number(String(a)), Number(String(b)));
}

function $add(obj: unknown, expr: unknown, options: Options): unknown {
  let date: Date | undefined;
  let total: unknown = 0;
  // Left to right, as mongod: a null or missing operand makes the result null, unless an earlier
  // operand already failed the type check.
  for (const v of operands(obj, expr, options)) {
    if (nullish(v)) return null;
    if (v instanceof Date) {
      if (date) throw new MongoCommandError(16612, 'only one date allowed in an $add expression');
      date = v;
    } else if (isBsonNumber(v)) {
      total = orDouble(addBson(total, v), total, v, (x, y) => x + y);
    } else {
      throw new MongoCommandError(14, `$add only supports numeric or date types, not ${bsonTypeName(v)}`);
    }
  }
  return date ? new Date(date.getTime() + dateOffset(total)) : total;
}

function $subtract(obj: unknown, expr: unknown, options: Options): unknown {
  const args = operands(obj, expr, options);
  exactly('$subtract', 2, args);
  const [a, b] = args;
  if (nullish(a) || nullish(b)) return null;
  // Date minus date is a Long of milliseconds in mongod.
  if (a instanceof Date && b instanceof Date) return Long.fromNumber(a.getTime() - b.getTime());
  if (a instanceof Date && isBsonNumber(b)) return new Date(a.getTime() - dateOffset(b));
  if (isBsonNumber(a) && isBsonNumber(b)) {
    const negated = negateBson(b);
    return negated === undefined
      ? Number(String(a)) - Number(String(b))
      : orDouble(addBson(a, negated), a, b, (x, y) => x - y);
  }
  // TypeMismatch since mongod 5.0 (ExpressionSubtract::apply); 16556 was 4.x's code.
  throw new MongoCommandError(14, `can't $subtract ${bsonTypeName(b)} from ${bsonTypeName(a)}`);
}

function $multiply(obj: unknown, expr: unknown, options: Options): unknown {
  let product: unknown = 1;
  for (const v of operands(obj, expr, options)) {
    if (nullish(v)) return null;
    if (!isBsonNumber(v))
      throw new MongoCommandError(14, `$multiply only supports numeric types, not ${bsonTypeName(v)}`);
    product = orDouble(mulBson(product, v), product, v, (x, y) => x * y);
  }
  return product;
}

/** `$avg`: the mean of the numeric values (others ignored), null when there are none. */
function $avg(coll: unknown[], expr: unknown, options: Options): unknown {
  const values = push(coll, expr, options).filter(isBsonNumber);
  return values.length === 0 ? null : averageBson(values);
}

function extreme(coll: unknown[], expr: unknown, options: Options, sign: 1 | -1): unknown {
  let best: unknown;
  for (const v of push(coll, expr, options)) {
    if (v === null || v === undefined) continue;
    if (best === undefined || sign * compareBson(v, best) > 0) best = v;
  }
  return best ?? null;
}

/** `$type`: mongod's type name (`decimal`, `objectId`, `missing`…), where mingo has its own. */
function $type(obj: unknown, expr: unknown, options: Options): string {
  const args = operands(obj, expr, options);
  exactly('$type', 1, args);
  return bsonTypeName(args[0]);
}

/**
 * Order of two values in aggregation expressions: BSON order (no type brackets, unlike filters),
 * with a missing value below null and above MinKey, as mongod's canonical types put it.
 */
function compareValues(a: unknown, b: unknown): number {
  if (a === undefined || b === undefined) {
    if (a === b) return 0;
    const other = a === undefined ? b : a;
    const otherIsMinKey = (other as { _bsontype?: string } | null)?._bsontype === 'MinKey';
    const missingFirst = otherIsMinKey ? 1 : -1;
    return a === undefined ? missingFirst : -missingFirst;
  }
  return compareBson(a, b);
}

function comparison(op: string, test: (order: number) => boolean | number) {
  return (obj: unknown, expr: unknown, options: Options): boolean | number => {
    const args = operands(obj, expr, options);
    exactly(op, 2, args);
    return test(compareValues(args[0], args[1]));
  };
}

/** BSON-aware expression operators, to be merged over mingo's. */
export const bsonExpressionOps = {
  $add,
  $subtract,
  $multiply,
  $type,
  $cmp: comparison('$cmp', (c) => Math.sign(c)),
  $eq: comparison('$eq', (c) => c === 0),
  $ne: comparison('$ne', (c) => c !== 0),
  $gt: comparison('$gt', (c) => c > 0),
  $gte: comparison('$gte', (c) => c >= 0),
  $lt: comparison('$lt', (c) => c < 0),
  $lte: comparison('$lte', (c) => c <= 0),
};

/** BSON-aware accumulators, to be merged over mingo's. */
export const bsonAccumulatorOps = {
  $avg,
  $max: (coll: unknown[], expr: unknown, options: Options) => extreme(coll, expr, options, 1),
  $min: (coll: unknown[], expr: unknown, options: Options) => extreme(coll, expr, options, -1),
};
