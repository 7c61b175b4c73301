/**
 * Run-time checks mingo lacks. Expressions whose domain errors mongod raises and mingo does not: `{$mod: [x, 0]}`, `$ln`,
 * `$log10` and `$log` of a non-positive number give null in mingo; mongod fails the command
 * (16610, 28766, 28761, 28758/28759). `$sqrt` of a negative number is refused by both, with
 * mongod's code here (28714). The value itself is still mingo's. Also: mongod's codes for the
 * run-time errors mingo reports with its own words.
 */
import { Decimal128, Long } from 'bson';
import { evalExpr } from 'mingo/core';
import type { Iterator } from 'mingo/lazy';
import * as expressionOps from 'mingo/operators/expression';
import * as pipelineOps from 'mingo/operators/pipeline';
import type { Options } from 'mingo/types';
import { MongoCommandError } from './errors.ts';
import { bsonTypeName } from './order.ts';

type Expression = (obj: unknown, expr: unknown, options: Options) => unknown;

function operands(obj: unknown, expr: unknown, options: Options): unknown[] {
  return Array.isArray(expr) ? expr.map((e) => evalExpr(obj, e, options)) : [evalExpr(obj, expr, options)];
}

const isNumber = (v: unknown): boolean =>
  typeof v === 'number' || typeof v === 'bigint' || v instanceof Long || v instanceof Decimal128;
const nullish = (v: unknown): boolean => v === null || v === undefined;
const numberOf = (v: unknown): number => (typeof v === 'number' ? v : Number(String(v)));

/** A one-argument logarithm that fails on a non-positive number, as mongod's do. */
function logarithm(name: '$ln' | '$log10', code: number, mingo: Expression): Expression {
  return (obj, expr, options) => {
    const [x] = operands(obj, expr, options);
    if (!nullish(x) && isNumber(x) && !(numberOf(x) > 0) && !Number.isNaN(numberOf(x)))
      throw new MongoCommandError(code, `${name}'s argument must be a positive number, but is ${String(x)}`);
    return mingo(obj, expr, options);
  };
}

const mingoLog = expressionOps.$log as unknown as Expression;
function $log(obj: unknown, expr: unknown, options: Options): unknown {
  const [x, base] = operands(obj, expr, options);
  if (!nullish(x) && !nullish(base) && isNumber(x) && isNumber(base)) {
    const n = numberOf(x);
    const b = numberOf(base);
    if (!(n > 0) && !Number.isNaN(n))
      throw new MongoCommandError(28758, `$log's argument must be a positive number, but is ${String(x)}`);
    if (!(b > 0 && b !== 1) && !Number.isNaN(b))
      throw new MongoCommandError(
        28759,
        `$log's base must be a positive number not equal to 1, but is ${String(base)}`,
      );
  }
  return mingoLog(obj, expr, options);
}

const mingoSqrt = expressionOps.$sqrt as unknown as Expression;
function $sqrt(obj: unknown, expr: unknown, options: Options): unknown {
  const [x] = operands(obj, expr, options);
  if (!nullish(x) && isNumber(x) && numberOf(x) < 0)
    throw new MongoCommandError(28714, "$sqrt's argument must be greater than or equal to 0");
  return mingoSqrt(obj, expr, options);
}

const mingoMod = expressionOps.$mod as unknown as Expression;
function $mod(obj: unknown, expr: unknown, options: Options): unknown {
  const [a, b] = operands(obj, expr, options);
  if (nullish(a) || nullish(b)) return null;
  if (!isNumber(a) || !isNumber(b))
    throw new MongoCommandError(
      16611,
      `$mod only supports numeric types, not ${bsonTypeName(a)} and ${bsonTypeName(b)}`,
    );
  if (numberOf(b) === 0) throw new MongoCommandError(16610, "can't $mod by zero");
  return mingoMod(obj, expr, options);
}

/** Expression operators with mongod's domain errors, to be merged over mingo's. */
export const checkedExpressionOps = {
  $ln: logarithm('$ln', 28766, expressionOps.$ln as unknown as Expression),
  $log10: logarithm('$log10', 28761, expressionOps.$log10 as unknown as Expression),
  $log,
  $sqrt,
  $mod,
};

/** mingo's run-time error messages and the code mongod gives for the same failure. */
const RUNTIME_CODES: Array<[RegExp, number, string]> = [
  [
    /^\$(replaceRoot|replaceWith) expression must return an object/,
    40228,
    "'newRoot' expression must evaluate to an object",
  ],
  [/^\$size expression must resolve to/, 17124, 'The argument to $size must be an array'],
  [/^\$concat expression must resolve to/, 16702, '$concat only supports strings'],
  [/^\$arrayElemAt arg1/, 28689, "$arrayElemAt's first argument must be an array"],
  [/^\$in arg2/, 40081, '$in requires an array as a second argument'],
];

/** The error mongod gives for a failure mingo reported with `message` while running a pipeline (2 when unknown). */
export function runtimeError(message: string): MongoCommandError {
  for (const [pattern, code, text] of RUNTIME_CODES) {
    if (pattern.test(message)) return new MongoCommandError(code, text);
  }
  return new MongoCommandError(2, message);
}

type Stage = (coll: Iterator, expr: unknown, options: Options) => Iterator;

const mingoRedact = pipelineOps.$redact as unknown as Stage;
/**
 * `$redact` whose expression must give `$$KEEP`, `$$PRUNE` or `$$DESCEND` (mongod: 17053); mingo
 * passes any other value on as the "document", which made a reply no driver could read.
 */
function $redact(coll: Iterator, expr: unknown, options: Options): Iterator {
  return mingoRedact(coll, expr, options)
    .filter((doc: unknown) => doc !== undefined)
    .map((doc: unknown) => {
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || bsonTypeName(doc) !== 'object')
        throw new MongoCommandError(
          17053,
          `$redact's expression should not return anything aside from the variables $$KEEP, $$DESCEND, and $$PRUNE, but returned ${JSON.stringify(doc)}`,
        );
      return doc;
    });
}

/** Pipeline stages with mongod's run-time checks, to be merged over mingo's. */
export const checkedStages = { $redact };
