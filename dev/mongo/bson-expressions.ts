/**
 * Aggregation operators that mingo computes on JavaScript numbers only, redone on every BSON number
 * type as mongod computes them: `$add`, `$subtract`, `$multiply`, the comparisons `$eq`…`$cmp`
 * (expressions) and `$avg`, `$min`, `$max` (accumulators). With Int64 beyond 2^53 and Decimal128 mingo refuses valid input ("$add
 * expression must resolve to array of numbers") or answers wrongly (its `$max` orders objects by
 * its own rules, its `$avg` skips Decimal128). Arithmetic is exact (bson-arith.ts); order is
 * MongoDB's (bson-order.ts). Registered in BSON_CONTEXT (bson-match.ts).
 */
import { evalExpr } from 'mingo/core';
import * as accumulatorOps from 'mingo/operators/accumulator';
import type { Options } from 'mingo/types';
import { addBson, averageBson, isBsonNumber, mulBson, negateBson } from './bson-arith.ts';
import { bsonTypeName, compareBson } from './bson-order.ts';
import { MongoCommandError } from './errors.ts';

const push = accumulatorOps.$push as (coll: unknown[], expr: unknown, options: Options) => unknown[];

function operands(obj: unknown, expr: unknown, options: Options, op: string): unknown[] {
  const args = evalExpr(obj, expr, options);
  if (!Array.isArray(args))
    throw new MongoCommandError(16020, `Expression ${op} takes at least 1 argument; got a ${bsonTypeName(args)}`);
  return args;
}

/** Int64 overflow turns the result into a Double, as mongod's arithmetic expressions do. */
function orDouble(result: unknown, a: unknown, b: unknown, op: (x: number, y: number) => number): unknown {
  return result ?? op(Number(String(a)), Number(String(b)));
}

function $add(obj: unknown, expr: unknown, options: Options): unknown {
  const args = operands(obj, expr, options, '$add');
  if (args.some((v) => v === null || v === undefined)) return null;
  let date: Date | undefined;
  let total: unknown = 0;
  for (const v of args) {
    if (v instanceof Date) {
      if (date) throw new MongoCommandError(16612, 'only one date allowed in an $add expression');
      date = v;
    } else if (isBsonNumber(v)) {
      total = orDouble(addBson(total, v), total, v, (x, y) => x + y);
    } else {
      throw new MongoCommandError(14, `$add only supports numeric or date types, not ${bsonTypeName(v)}`);
    }
  }
  return date ? new Date(date.getTime() + Math.round(Number(String(total)))) : total;
}

function $subtract(obj: unknown, expr: unknown, options: Options): unknown {
  const args = operands(obj, expr, options, '$subtract');
  if (args.length !== 2)
    throw new MongoCommandError(
      16020,
      `Expression $subtract takes exactly 2 arguments. ${args.length} were passed in.`,
    );
  const [a, b] = args;
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime();
  if (a instanceof Date && isBsonNumber(b)) return new Date(a.getTime() - Math.round(Number(String(b))));
  if (isBsonNumber(a) && isBsonNumber(b)) {
    const negated = negateBson(b);
    return negated === undefined
      ? Number(String(a)) - Number(String(b))
      : orDouble(addBson(a, negated), a, b, (x, y) => x - y);
  }
  throw new MongoCommandError(16556, `can't $subtract ${bsonTypeName(b)} from ${bsonTypeName(a)}`);
}

function $multiply(obj: unknown, expr: unknown, options: Options): unknown {
  const args = operands(obj, expr, options, '$multiply');
  if (args.some((v) => v === null || v === undefined)) return null;
  let product: unknown = 1;
  for (const v of args) {
    if (!isBsonNumber(v))
      throw new MongoCommandError(16555, `$multiply only supports numeric types, not ${bsonTypeName(v)}`);
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
  return bsonTypeName(evalExpr(obj, Array.isArray(expr) && expr.length === 1 ? expr[0] : expr, options));
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
    const args = operands(obj, expr, options, op);
    if (args.length !== 2)
      throw new MongoCommandError(16020, `Expression ${op} takes exactly 2 arguments. ${args.length} were passed in.`);
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
